package trigger

import "strings"

// Reason is one policy's verdict in words.
type Reason struct {
	// Policy names the policy, one of the Policy constants for the policies
	// of this package.
	Policy string `json:"policy"`
	// Fired reports whether this policy, on its own, said to retrain.
	Fired bool `json:"fired"`
	// Text is the human-readable verdict, such as
	// "Overdue - last retrain 34 days ago (limit 30 days)".
	Text string `json:"text"`
	// Depth is the nesting level: composite policies (Any, All, Not,
	// Cooldown) put their own reason first and their children's reasons
	// after it, one level deeper.
	Depth int `json:"depth,omitempty"`
}

// Decision says whether to retrain, with a reason for every policy consulted,
// fired or not. The first reason, at the lowest depth, sums up the policy
// that made the decision.
type Decision struct {
	Retrain bool     `json:"retrain"`
	Reasons []Reason `json:"reasons"`
	// Need says, when Retrain is false, what would make the policy fire, such
	// as "12 more samples or 9 more days"; empty when that is not known (a
	// drift policy cannot tell) or when Retrain is true.
	Need string `json:"need,omitempty"`
}

// String renders the reasons one per line, indented two spaces per Depth,
// each marked "[x]" if its policy fired and "[ ]" if not:
//
//	[ ] any: Not yet - need 12 more samples or 9 more days
//	  [ ] force: Not forced
//	  [ ] min_new_samples: Not yet - 38 new samples, need 12 more samples
//	  [ ] max_age: Not yet - last retrain 21 days ago, need 9 more days
//
// There is no trailing newline; a Decision without reasons renders as "".
func (d Decision) String() string {
	var b strings.Builder
	for i, r := range d.Reasons {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat("  ", max(r.Depth, 0)))
		if r.Fired {
			b.WriteString("[x] ")
		} else {
			b.WriteString("[ ] ")
		}
		if r.Policy != "" {
			b.WriteString(r.Policy)
			b.WriteString(": ")
		}
		b.WriteString(r.Text)
	}
	return b.String()
}

// leaf is the Decision of a policy without children.
func leaf(policy string, fired bool, text, need string) Decision {
	if fired {
		need = ""
	}
	return Decision{Retrain: fired, Reasons: []Reason{{Policy: policy, Fired: fired, Text: text}}, Need: need}
}

// wrap puts head before the reasons of the children, one level deeper.
func wrap(head Reason, children ...Decision) []Reason {
	n := 1
	for _, c := range children {
		n += len(c.Reasons)
	}
	rs := make([]Reason, 0, n)
	rs = append(rs, head)
	for _, c := range children {
		for _, r := range c.Reasons {
			r.Depth++
			rs = append(rs, r)
		}
	}
	return rs
}

// headPolicy names the policy behind d for a parent's reason.
func headPolicy(d Decision) string {
	if len(d.Reasons) > 0 && d.Reasons[0].Policy != "" {
		return d.Reasons[0].Policy
	}
	return "inner policy"
}
