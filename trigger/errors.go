package trigger

import (
	"context"
	"errors"
	"fmt"
)

// ErrInvalid is returned (wrapped, with the policy name and the problem) by
// the ShouldRetrain method of a policy built with invalid arguments, such as
// MaxAge(0), MinNewSamples(-1) or Any() with no policies. Constructors never
// panic; the mistake surfaces at the first decision.
var ErrInvalid = errors.New("trigger: invalid policy")

// ErrNoTime is returned (wrapped, with the policy name) by policies that
// measure time when State.Now is zero. Policies never read the system clock.
var ErrNoTime = errors.New("trigger: State.Now is zero")

// invalid returns a Trigger that always fails with ErrInvalid.
func invalid(policy, format string, args ...any) Trigger {
	err := fmt.Errorf("%w: %s: %s", ErrInvalid, policy, fmt.Sprintf(format, args...))
	return TriggerFunc(func(context.Context, State) (Decision, error) { return Decision{}, err })
}

// noTime reports that policy needs State.Now.
func noTime(policy string) error {
	return fmt.Errorf("%w: %s needs the current time", ErrNoTime, policy)
}
