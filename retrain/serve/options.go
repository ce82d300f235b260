package serve

import (
	"io"
	"log/slog"
	"time"

	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
)

// Defaults of Options and WatchdogOptions.
const (
	// DefaultThreshold is the confidence below which the LLM is asked when
	// the serving version carries no threshold of its own (Rasa's
	// FallbackClassifier threshold).
	DefaultThreshold = 0.3
	// DefaultAmbiguity is the margin between the top label and the runner-up
	// below which the LLM is asked (Rasa's ambiguity_threshold).
	DefaultAmbiguity = 0.1
	// DefaultLLMTimeout bounds one LLM call.
	DefaultLLMTimeout = 2 * time.Second
	// DefaultPollInterval is how often the store's Stamp is polled.
	DefaultPollInterval = 50 * time.Millisecond
	// DefaultFeedbackWindow is how many recent query ids are remembered to
	// attribute feedback to the version and canary arm that answered.
	DefaultFeedbackWindow = 10000
	// DefaultNotifyTimeout bounds one Notifier call.
	DefaultNotifyTimeout = 10 * time.Second
)

// Options holds the optional settings of a Server. A nil *Options and every
// zero field mean the default named in the field's comment.
type Options struct {
	// Decode turns a stored model body into a predictor. nil means
	// model.Decode. It must return an error, never panic, on bad input.
	Decode Decoder
	// QueryLog receives every served query and every feedback. nil
	// discards them (and Feedback then only counts).
	QueryLog QueryLogger
	// LLM is the fallback asked when the model is unsure. nil means no
	// fallback: unsure queries are answered by the model with route
	// RouteDegraded.
	LLM LLM
	// LLMTimeout bounds one LLM call. Zero means DefaultLLMTimeout.
	LLMTimeout time.Duration

	// Threshold: a prediction whose routing score (retrain.RoutingScore:
	// the confidence of a single-label prediction, the weakest decision of
	// a label set) is below it goes to the LLM. Zero means the threshold the
	// serving version earned when it was trained (its manifest's
	// retrain.MetricRoutingThreshold, read again with every version loaded,
	// canaries and shadows included), or DefaultThreshold for a version
	// without one. A positive value overrides every version's own; a
	// negative value disables the check.
	Threshold float64
	// Ambiguity: a prediction whose margin (see Answer.Margin) is below it
	// goes to the LLM. Zero means DefaultAmbiguity; a negative value
	// disables the check.
	Ambiguity float64

	// PollInterval is how often the background loop polls the store's Stamp
	// (and runs the watchdog). Zero means DefaultPollInterval; a negative
	// value starts no goroutine at all: the caller drives Reload and
	// CheckWatchdog itself (a simulation with its own clock does).
	PollInterval time.Duration

	// Watchdog enables the post-deploy watchdog with these settings; nil
	// disables it. See WatchdogOptions.
	Watchdog *WatchdogOptions
	// Notifier is told when the watchdog rolls a deploy back (event type
	// retrain.EventModelRolledBack). nil means nobody. It is called
	// synchronously with a context bounded by NotifyTimeout; its error is
	// logged, never returned.
	Notifier retrain.Notifier
	// NotifyTimeout bounds one Notify call. Zero means DefaultNotifyTimeout.
	NotifyTimeout time.Duration

	// OnDisagreement, if set, is called synchronously for every query on
	// which the shadow model disagrees with the model that answered (see
	// StartShadow). It must be quick and must not call back into the
	// Server; write to a file or a channel.
	OnDisagreement func(Disagreement)

	// FeedbackWindow is how many recent query ids the Server remembers to
	// attribute feedback to the version and canary arm that answered, and
	// ten times as many ids that got feedback (so that each gets it once).
	// Zero means DefaultFeedbackWindow.
	FeedbackWindow int

	// Now is the Server's clock: every time it reads (timestamps,
	// latencies, canary and shadow start times, the LLM timeout check, the
	// once-a-minute limit on repeated warnings) comes from it. Timers
	// (PollInterval, LLMTimeout's context, NotifyTimeout) run on the real
	// clock. nil means time.Now.
	Now func() time.Time
	// NewQueryID makes the random part of a query id (see Answer.QueryID);
	// the Server adds the time and a signature. nil means
	// dataset.NewQueryID.
	NewQueryID func() string
	// QueryIDKey is the HMAC key query ids are signed with, so that
	// Feedback accepts only ids a Server with this key issued. Replicas
	// behind one load balancer share it; nil means a random key per
	// Server (feedback then reaches only the process that answered).
	QueryIDKey []byte
	// Redact, if set, rewrites a query's text before anything holding it
	// is written: the query log record and the Disagreement passed to
	// OnDisagreement (masking e-mail addresses or phone numbers, say). The
	// model and the LLM still see the original text. It must be quick, safe
	// for concurrent use and must not return an empty string for a
	// non-empty one (the query log refuses empty texts).
	Redact func(text string) string
	// FeedbackTTL is how long after its query feedback is accepted. Zero
	// means DefaultFeedbackTTL; a negative value means no limit.
	FeedbackTTL time.Duration
	// Logger receives reloads, refusals, rollbacks and (rate-limited)
	// query-log failures. nil discards.
	Logger *slog.Logger
}

// WatchdogOptions configures the post-deploy watchdog. The zero value means
// the defaults named in each field's comment.
//
// After a deploy picked up by the Server, the watchdog waits for MinQueries
// queries answered by the new model and then judges it once: it compares the
// new model's fallback rate and its disagreement rate with the LLM (on
// fallbacks that got LLM labels) with the previous model's, measured over the
// previous model's last Window queries before the deploy. When either rate is
// worse by more than its margin, it deploys the previous version again
// through the store, serves it at once and notifies. A deploy the watchdog
// cannot compare (the previous model answered fewer than MinQueries queries
// in this process, for example after a restart) is not judged.
type WatchdogOptions struct {
	// MinQueries is the number of queries the new model must answer before
	// it is judged, and the number the previous model must have answered
	// for a baseline. Zero means 200.
	MinQueries int
	// Window is the number of most recent queries a model's rates are
	// measured over. Zero means 1000; it is raised to MinQueries if lower.
	Window int
	// FallbackMargin: roll back when the new fallback rate exceeds the old
	// one by more than this (absolute). Zero means 0.10; negative disables
	// the check.
	FallbackMargin float64
	// DisagreementMargin: roll back when the new model's disagreement rate
	// with the LLM exceeds the old one by more than this. Zero means 0.10;
	// negative disables the check.
	DisagreementMargin float64
	// MinCompared is the number of fallbacks with LLM labels each side needs
	// before disagreement rates are compared. Zero means 30.
	MinCompared int
}

// Decoder reads a model body as stored by the store into a predictor. It
// should return an error, not panic, on corrupt input (a panic is recovered
// and the version refused). A Server calls it from one goroutine at a time;
// the predictor it returns must be safe for concurrent use.
type Decoder func(r io.Reader) (model.Predictor, error)

// decodeModel is the default Decoder.
func decodeModel(r io.Reader) (model.Predictor, error) {
	c, err := model.Decode(r)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (o *Options) setDefaults() {
	if o.Decode == nil {
		o.Decode = decodeModel
	}
	if o.QueryLog == nil {
		o.QueryLog = discardLog{}
	}
	if o.LLMTimeout <= 0 {
		o.LLMTimeout = DefaultLLMTimeout
	}
	if o.Ambiguity == 0 {
		o.Ambiguity = DefaultAmbiguity
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.NotifyTimeout <= 0 {
		o.NotifyTimeout = DefaultNotifyTimeout
	}
	if o.FeedbackWindow <= 0 {
		o.FeedbackWindow = DefaultFeedbackWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewQueryID == nil {
		o.NewQueryID = dataset.NewQueryID
	}
	if len(o.QueryIDKey) == 0 {
		o.QueryIDKey = newKey()
	}
	if o.FeedbackTTL == 0 {
		o.FeedbackTTL = DefaultFeedbackTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Watchdog != nil {
		w := *o.Watchdog
		w.setDefaults()
		o.Watchdog = &w
	}
}

func (w *WatchdogOptions) setDefaults() {
	if w.MinQueries <= 0 {
		w.MinQueries = 200
	}
	if w.Window <= 0 {
		w.Window = 1000
	}
	if w.Window < w.MinQueries {
		w.Window = w.MinQueries
	}
	if w.FallbackMargin == 0 {
		w.FallbackMargin = 0.10
	}
	if w.DisagreementMargin == 0 {
		w.DisagreementMargin = 0.10
	}
	if w.MinCompared <= 0 {
		w.MinCompared = 30
	}
}
