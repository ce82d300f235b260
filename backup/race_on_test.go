//go:build race

package backup

// raceEnabled trims the crash test's default run count: every child is a
// race-instrumented binary and starts several times slower.
const raceEnabled = true
