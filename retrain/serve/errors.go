package serve

import "errors"

// Errors returned by the package. Callers match them with errors.Is; the
// returned errors often wrap them with detail (and, for ErrRefused, with the
// store's or the decoder's error, such as backup.ErrCorrupt or
// model.ErrCorrupt).
var (
	// ErrClosed is returned by the methods of a closed Server that serve,
	// load or deploy (see Server.Close).
	ErrClosed = errors.New("serve: server closed")
	// ErrNoModel is returned by Classify while no model is loaded: nothing
	// was deployed when the Server opened and nothing has been since.
	ErrNoModel = errors.New("serve: no model loaded")
	// ErrRefused means a model version could not be loaded (unreadable,
	// corrupt or not decodable). The model that was serving keeps serving.
	ErrRefused = errors.New("serve: model version refused")
	// ErrNoCanary is returned by SetCanaryFraction and PromoteCanary when
	// no canary is running.
	ErrNoCanary = errors.New("serve: no canary running")
	// ErrCanaryRunning is returned by StartCanary while another canary runs;
	// abort or promote it first.
	ErrCanaryRunning = errors.New("serve: a canary is already running")
	// ErrNoShadow is returned by StopShadow when no shadow model runs.
	ErrNoShadow = errors.New("serve: no shadow model running")
	// ErrSameVersion is returned by StartCanary and StartShadow for the
	// version that is already deployed.
	ErrSameVersion = errors.New("serve: version is already deployed")
	// ErrFraction is returned for a canary fraction outside [0, 1].
	ErrFraction = errors.New("serve: canary fraction must be in [0, 1]")
	// ErrEmptyText is returned by Classify for a text with nothing to
	// classify: empty, or only spaces and invisible characters (zero-width
	// spaces, joiners, byte-order marks).
	ErrEmptyText = errors.New("serve: empty text (nothing but spaces or invisible characters)")
	// ErrTextTooLong is returned by Classify for a text longer than
	// MaxTextBytes, which the query log could not be sure to hold.
	ErrTextTooLong = errors.New("serve: text too long")
	// ErrNoQueryID is returned by Feedback for an empty query id.
	ErrNoQueryID = errors.New("serve: empty query id")
	// ErrUnknownQuery is returned by Feedback for a query id this Server
	// (or one sharing its Options.QueryIDKey) did not issue.
	ErrUnknownQuery = errors.New("serve: query id was not issued by this server")
	// ErrFeedbackExpired is returned by Feedback for a query older than
	// Options.FeedbackTTL.
	ErrFeedbackExpired = errors.New("serve: feedback window has passed")
	// ErrDuplicateFeedback is returned by Feedback for a query that already
	// got feedback.
	ErrDuplicateFeedback = errors.New("serve: query already has feedback")
	// ErrNotCorrectable is returned by Correct for a query it cannot ask
	// the LLM about: one this Server does not remember (another replica
	// served it, or it is older than the last Options.FeedbackWindow
	// queries), one the model did not answer, or a text that is not the
	// query's.
	ErrNotCorrectable = errors.New("serve: query cannot be corrected")
	// ErrTooLong is returned for a client field over its limit
	// (MaxQueryIDBytes, MaxSessionIDBytes).
	ErrTooLong = errors.New("serve: field too long")
)
