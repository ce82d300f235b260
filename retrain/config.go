package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
)

// Config holds what New needs. Trigger, Data, Trainer and Models are
// required; every other field has a working zero value.
type Config struct {
	// Trigger decides whether a run trains (RunOptions.Force overrides it).
	Trigger Trigger
	// Data supplies the samples and keeps the watermark of what is "new".
	Data DatasetStore
	// Trainer trains candidates and decodes stored models.
	Trainer Trainer
	// Models keeps versions and the deployed pointer.
	Models ModelStore
	// Notifier hears about runs (nil = nobody). See Notifier.
	Notifier Notifier

	// Gate decides whether a trained candidate may replace the deployed
	// model. The zero value is the seed's gate (see Gate).
	Gate Gate
	// HoldoutFraction is the share of samples held out for evaluation, chosen
	// by a stable hash of each sample's normalized text (0 = 0.2).
	HoldoutFraction float64
	// TargetPrecision is the share of ML-route answers that must be right:
	// each candidate earns the lowest routing threshold that reaches it on
	// the held-out samples, with a one-sided lower confidence bound at
	// 1 − RoutingDelta (see DeriveRouting). The threshold is stored with the
	// version (MetricRoutingThreshold) and serve uses it. 0 =
	// DefaultTargetPrecision (0.95); RoutingDelta 0 = DefaultRoutingDelta
	// (0.05).
	TargetPrecision float64
	RoutingDelta    float64
	// CorrectionsLogged says the backend asks the LLM about every ML answer
	// a user rejects (serve.Server.Correct). Feedback-confirmed samples are
	// then routing samples too (see DeriveRouting): without corrections
	// only the answers the model got right would survive as samples and
	// make any threshold look precise; with them, confirmed answers and
	// corrections together sample the ML route's answers, right and wrong,
	// which gives routing thresholds many more, and more typical, samples
	// than the LLM-labelled ones alone. The deployed (refit) model then
	// carries the candidate's threshold when that rests on more samples
	// than the golden set (the refit is right at least as often as the
	// candidate at the candidate's threshold).
	CorrectionsLogged bool
	// NoRefit deploys the gated candidate itself. By default, once the gate
	// passes, the version that deploys is trained again with the same
	// trainer on all the samples (training and held-out), checked with the
	// canaries and a sanity evaluation, and carries the candidate's routing
	// threshold and metrics; see Retrainer.Run.
	NoRefit bool
	// Canaries are utterances with the intent the deployed model must give
	// them. They are checked on the candidate before deploy (as a gate check)
	// and on the model loaded back from the store after deploy; a failure
	// after deploy rolls back to the previous version.
	Canaries []Canary
	// Merge tunes how base, old and new samples are merged (nil = defaults);
	// golden samples are always excluded.
	Merge *dataset.MergeOptions
	// Retention, unless it drops nothing, prunes old versions after each
	// deploy if Models implements backup.Pruner. The deployed version, its
	// rollback target and the candidates staged for approval that nobody
	// has approved, rejected or promoted yet (AwaitingApproval) are always
	// kept.
	Retention backup.Policy
	// TrainerConfig is stored in each new version's manifest as is.
	TrainerConfig json.RawMessage

	// History is where Run and Rollback append one Record per run and
	// Status reads the last ones (see History). Nil means HistoryPath's
	// FileHistory, or with an empty HistoryPath a MemHistory kept for the
	// Retrainer's lifetime only.
	History History
	// HistoryPath, when History is nil, is shorthand for
	// History: NewFileHistory(HistoryPath).
	HistoryPath string
	// Locker keeps runs from overlapping across processes and hosts (see
	// Locker). Nil means LockPath's FileLocker, or with an empty LockPath
	// the in-process mutex only.
	Locker Locker
	// LockPath, when Locker is nil, is shorthand for
	// Locker: NewFileLocker(LockPath).
	LockPath string
	// CronStatusPath is a heartbeat file a scheduler writes; Status returns it
	// raw when present. Empty means none.
	CronStatusPath string
	// Quarantine keeps the new samples runs do not train on (quarantined
	// for disagreeing with a strong deployed model and with trusted
	// samples, or set aside after a rejection), for review; its samples are
	// left out of every later run (see Quarantine). Nil means
	// QuarantinePath's file (NewFileQuarantine), or with an empty
	// QuarantinePath memory (NewMemQuarantine: the Retrainer's lifetime).
	Quarantine Quarantine
	// QuarantinePath, when Quarantine is nil, is shorthand for
	// Quarantine: NewFileQuarantine(QuarantinePath).
	QuarantinePath string
	// UserTextRetention is how long the quarantine keeps a sample (user
	// text); each run deletes older ones (0 = 365 days; negative =
	// forever). Data's own retention is Data's (see DataRetention).
	UserTextRetention time.Duration

	// SignalWindow and SignalWindows say which live signal windows the trigger
	// sees when Data implements Signaler (0 = 24h and 7).
	SignalWindow  time.Duration
	SignalWindows int

	// NotifyTimeout bounds each notification (0 = 10s).
	NotifyTimeout time.Duration
	// Logger receives progress and the things Run works around (nil =
	// discard). Run logs nothing during a dry run.
	Logger *slog.Logger
	// Now is the clock (nil = time.Now).
	Now func() time.Time
	// OnEvent, if set, is called synchronously with every event of a run:
	// the notifier's events and the stage.started / stage.finished ones. It
	// must not block; a panic in it is recovered.
	OnEvent func(ctx context.Context, e Event)
	// OnProgress, if set, is called synchronously at each stage and each
	// training step, for progress bars. A panic in it is recovered.
	OnProgress func(p Progress)
}

// Gate holds the deployment thresholds. Each zero field takes the default in
// its comment, which is the seed's.
type Gate struct {
	// MaxAccuracyDrop and MaxMacroF1Drop: the candidate may score at most
	// this much below the deployed model on the same held-out samples
	// (0 = 0.01; negative = the candidate must improve by that much).
	MaxAccuracyDrop float64
	MaxMacroF1Drop  float64
	// Epsilon absorbs floating-point error in every comparison, so that a
	// drop of exactly MaxAccuracyDrop passes (0 = 1e-9).
	Epsilon float64
	// MinAccuracy and MinMacroF1 are absolute floors that always apply,
	// and are the only quality checks when nothing is deployed (0 = none).
	MinAccuracy float64
	MinMacroF1  float64
	// MaxIntentF1Drop: no intent with at least IntentMinSupport held-out
	// samples may lose more F1 than this (0 = 0.10 and 20; negative
	// MaxIntentF1Drop = off).
	MaxIntentF1Drop  float64
	IntentMinSupport int
	// Bootstrap, when positive, adds a paired bootstrap non-inferiority
	// check: the lower bound of the two-sided 95% interval of the candidate's
	// macro-F1 minus the deployed one's, over Bootstrap resamples of the
	// held-out samples, must be at least -BootstrapMargin (0 = 0.01). The
	// resampling is seeded with BootstrapSeed, so it is deterministic.
	Bootstrap       int
	BootstrapMargin float64
	BootstrapSeed   uint64
	// MinEvalSamples is the least number of held-out samples an evaluation
	// may rest on (0 = 1). Fewer rejects the candidate.
	MinEvalSamples int
	// AllowLabelChange lets a candidate drop labels the deployed model
	// knew; otherwise that rejects it.
	AllowLabelChange bool
	// MaxCoverageDrop: the share of held-out samples the candidate may
	// answer on the ML route at the target precision (see
	// Config.TargetPrecision) may be at most this much below the deployed
	// model's (0 = 0.05; negative = off). Coverage is what the loop is for:
	// a candidate as accurate as the deployed model but less sure of its
	// right answers sends more queries to the LLM.
	MaxCoverageDrop float64
	// MaxBestEverDrop: the candidate may score at most this much below the
	// best model ever deployed by a run on the same golden set (golden
	// accuracy and macro-F1), so that small drops each within
	// MaxAccuracyDrop cannot add up (0 = 0.02; negative = off).
	MaxBestEverDrop float64
	// NoiseZ widens the drop tolerances to what the evaluation can tell
	// apart: the accuracy and macro-F1 drop checks (on the hold-out and on
	// the golden set, and against the best model ever deployed) tolerate at
	// least NoiseZ standard errors of the paired accuracy difference
	// between the candidate and the deployed model on the samples they are
	// scored on (0 = 1.645, a one-sided 95 % test; negative = off, the
	// fixed tolerances only). On CLINC150's 3,000 golden samples this is
	// about 0.5 points, under the 1-point default, so nothing changes; on
	// 100 samples, where one sample is a point, it is about 4 points, and a
	// candidate with more data is no longer rejected for a difference of
	// two samples. A tolerance set to demand an improvement (negative
	// MaxAccuracyDrop) is never widened. The check's Detail says when the
	// noise set the tolerance.
	NoiseZ float64
}

// Canary is an utterance and the intent a deployed model must give it: the
// prediction's top Label or one of its Labels.
type Canary struct {
	Text   string `json:"text"`
	Intent string `json:"intent"`
}

// RunOptions are the per-run switches.
type RunOptions struct {
	// Force trains whatever the trigger says.
	Force bool
	// DryRun does everything up to and including the gate's verdict, with the
	// candidate trained in memory, and writes nothing at all: no version, no
	// deploy, no watermark, no history line, no log line, no notification, no
	// lock file. The result says what a real run would have done (Result.Plan).
	// It reads the data through a read-only snapshot when Data offers one
	// (see Previewer).
	DryRun bool
	// RequireApproval stores a candidate that passes the gate without
	// deploying it: the run ends "staged" (EventModelStaged) and a person
	// deploys it with Approve or drops it with Reject. A candidate the gate
	// rejects is stored too, so that a person can Promote it on purpose.
	RequireApproval bool
}

// Progress is one step of a run for a progress bar: stage number Step of
// Steps, and during training the epoch.
type Progress struct {
	RunID string
	Stage string
	Step  int
	Steps int
	// Train is set while training: the trainer's own progress.
	Train *model.Progress
}

func (c *Config) validate() error {
	var errs []error
	if c.Trigger == nil {
		errs = append(errs, errors.New("retrain: Config.Trigger is required"))
	}
	if c.Data == nil {
		errs = append(errs, errors.New("retrain: Config.Data is required"))
	}
	if c.Trainer == nil {
		errs = append(errs, errors.New("retrain: Config.Trainer is required"))
	}
	if c.Models == nil {
		errs = append(errs, errors.New("retrain: Config.Models is required"))
	}
	if c.HoldoutFraction < 0 || c.HoldoutFraction >= 1 {
		errs = append(errs, errors.New("retrain: Config.HoldoutFraction must be in [0, 1)"))
	}
	if c.TargetPrecision < 0 || c.TargetPrecision > 1 {
		errs = append(errs, errors.New("retrain: Config.TargetPrecision must be in [0, 1]"))
	}
	if c.RoutingDelta < 0 || c.RoutingDelta >= 1 {
		errs = append(errs, errors.New("retrain: Config.RoutingDelta must be in [0, 1)"))
	}
	if c.Gate.Bootstrap < 0 {
		errs = append(errs, errors.New("retrain: Config.Gate.Bootstrap must not be negative"))
	}
	for i, cn := range c.Canaries {
		if cn.Text == "" || cn.Intent == "" {
			errs = append(errs, errors.New("retrain: Config.Canaries["+strconv.Itoa(i)+"] needs Text and Intent"))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.HoldoutFraction == 0 {
		c.HoldoutFraction = 0.2
	}
	if c.TargetPrecision == 0 {
		c.TargetPrecision = DefaultTargetPrecision
	}
	if c.RoutingDelta == 0 {
		c.RoutingDelta = DefaultRoutingDelta
	}
	if c.SignalWindow <= 0 {
		c.SignalWindow = 24 * time.Hour
	}
	if c.SignalWindows <= 0 {
		c.SignalWindows = 7
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Gate.setDefaults()
	c.retentionDefaults()
}

func (c *Config) retentionDefaults() {
	if c.UserTextRetention == 0 {
		c.UserTextRetention = dataset.DefaultSampleRetention
	}
}

func (g *Gate) setDefaults() {
	if g.MaxBestEverDrop == 0 {
		g.MaxBestEverDrop = 0.02
	}
	if g.MaxAccuracyDrop == 0 {
		g.MaxAccuracyDrop = 0.01
	}
	if g.MaxMacroF1Drop == 0 {
		g.MaxMacroF1Drop = 0.01
	}
	if g.NoiseZ == 0 {
		g.NoiseZ = 1.645
	}
	if g.Epsilon == 0 {
		g.Epsilon = 1e-9
	}
	if g.MaxIntentF1Drop == 0 {
		g.MaxIntentF1Drop = 0.10
	}
	if g.IntentMinSupport == 0 {
		g.IntentMinSupport = 20
	}
	if g.MaxCoverageDrop == 0 {
		g.MaxCoverageDrop = 0.05
	}
	if g.BootstrapMargin == 0 {
		g.BootstrapMargin = 0.01
	}
	if g.BootstrapSeed == 0 {
		g.BootstrapSeed = 1
	}
	if g.MinEvalSamples <= 0 {
		g.MinEvalSamples = 1
	}
}
