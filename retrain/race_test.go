//go:build race

package retrain_test

// raceEnabled is set under the race detector, where the CLINC150-sized run
// is skipped (it would take most of a minute); run it without -race.
const raceEnabled = true
