package trigger

import (
	"math"
	"time"
)

// Default is the seed's policy: retrain when forced, when 50 or more new
// samples are waiting, or when 30 or more days have passed since the last
// successful retrain (or it never happened). It is Seed(30, 50).
//
// A nightly cron should wrap it in a Cooldown so that a rejected candidate is
// not retrained on the same data every night:
//
//	trigger.Cooldown(trigger.Default(), 7*24*time.Hour, 25)
func Default() Trigger { return Seed(30, 50) }

// Seed is the seed's policy with custom thresholds:
//
//	Any(Force(), MinNewSamples(samples), MaxAge(days × 24h))
//
// When nothing fires, its summary reads like
// "Not yet - need 12 more samples or 9 more days". days and samples must be
// at least 1 (days at most 106751, the
// longest time.Duration).
func Seed(days, samples int) Trigger {
	const maxDays = int(math.MaxInt64 / int64(24*time.Hour))
	if days < 1 || days > maxDays {
		return invalid(PolicyMaxAge, "days must be in [1, %d], got %d", maxDays, days)
	}
	return Any(Force(), MinNewSamples(samples), MaxAge(time.Duration(days)*24*time.Hour))
}
