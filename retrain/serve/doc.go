// Package serve is the serving side of the moodfood library: a Server
// answers intent queries with the deployed model, falls back to an LLM when
// the model is unsure, logs every query for the retraining loop, picks up
// new deploys without a restart, and tries candidates safely.
//
// # Serving and routing
//
// Open loads the deployed version of a Source (*backup.FileStore is one)
// with a Decoder (model.Decode by default). Classify predicts and routes:
//
//   - RouteML when the routing score (retrain.RoutingScore: the
//     confidence, or for a label set its weakest decision) is at least the
//     threshold the serving version earned on data it did not train on
//     (retrain.MetricRoutingThreshold in its manifest, read again at every
//     reload; Options.Threshold overrides it, and DefaultThreshold 0.3
//     serves a version without one) and the margin to the runner-up label
//     at least Options.Ambiguity (0.1, Rasa's default; see Margin for
//     multi-label models);
//   - RouteLLM otherwise, answered by the Options.LLM fallback within
//     Options.LLMTimeout;
//   - RouteDegraded when the fallback failed, timed out or is not
//     configured: availability wins, the model's prediction is returned and
//     the failure is reported in Answer.LLMError and Stats, not as an error.
//
// Every answered query is logged through Options.QueryLog as a
// dataset.Query whose classification_method is the route, whose
// model_version is the version that actually answered and whose llm_labels
// are the teacher's labels. Feedback logs a dataset.Feedback record.
//
// # Query ids and feedback
//
// The Server issues every query id (Answer.QueryID): a random part, the
// time and an HMAC-SHA-256 signature with Options.QueryIDKey. Clients
// cannot choose one, so a query's record cannot be replaced and feedback
// cannot be made up: Feedback accepts only an id a Server with the same key
// issued, within Options.FeedbackTTL (24 h), once, and refuses ids over
// MaxQueryIDBytes and session ids over MaxSessionIDBytes (ErrTooLong)
// before storing anything. Memory stays bounded whatever clients send: the
// Server remembers Options.FeedbackWindow query ids of its own making and
// ten times as many that got feedback.
//
// # Corrections
//
// When a user rejects the model's answer, the backend calls Correct instead
// of Feedback: the negative feedback is recorded and the LLM is asked about
// the query, once. Its answer is what the user sees next and, logged as a
// second answer to the query (dataset.Query.Corrects), a training sample on
// exactly what the model got wrong; the export would otherwise lose those
// queries, since a rejected answer is never exported. Correct acts only on
// a query the model answered, among the remembered ones, with the query's
// own text, so a client can make it call the LLM at most once per query
// the model answered.
//
// # Hot reload
//
// The serving model sits behind an atomic pointer and is replaced whole: a
// query is answered by the old model or the new one, never by a partly
// loaded one. A background goroutine polls the Source's Stamp every
// Options.PollInterval (50 ms) and loads a newly deployed version; Reload
// does the same on demand. A version that cannot be read or decoded is
// refused, counted and logged once, and the old model keeps serving; a
// corrupt version is never retried, a transient failure (an I/O error) is
// retried at the next poll. The whole model body is read before it is
// accepted, so that a store verifying checksums at EOF always gets to.
//
// # Candidates
//
// StartCanary lets a candidate version answer a fraction of the traffic,
// chosen by a sticky hash of Request.SessionID (InCanary: a session in the
// canary stays in as the fraction rises). Stats compare the arms: queries,
// fallback rate, agreement with the LLM on fallbacks, feedback.
// PromoteCanary deploys the candidate through the Source; AbortCanary drops
// it. StartShadow runs a candidate on all traffic without letting it answer
// and reports where it disagrees with the answering model.
//
// # Watchdog
//
// With Options.Watchdog set, each deploy the Server picks up (or promotes)
// is judged once, after WatchdogOptions.MinQueries queries: its fallback
// rate and its disagreement rate with the LLM are compared with the
// previous model's over that model's last window before the deploy. When
// either is worse by more than its margin, the previous version is deployed
// again through the Source, served at once, and Options.Notifier hears a
// retrain.EventModelRolledBack event. The poll loop runs the watchdog; a
// caller driving its own clock sets a negative PollInterval and calls
// Reload and CheckWatchdog itself, so that nothing runs in the background.
//
// # Concurrency and lifetime
//
// A Server is safe for concurrent use. Close stops its only goroutine (the
// poll loop) and waits for it; it neither waits for queries in flight nor
// closes the QueryLogger, which the caller owns. LabelLLM is an offline
// fake LLM answering from labelled samples, for examples and simulations.
package serve
