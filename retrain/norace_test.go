//go:build !race

package retrain_test

const raceEnabled = false
