package dataset_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"moodfood/dataset"
)

// TestExport_CapsPerSessionAndText: one session flooding the server, or one
// text sent over and over, gives at most MaxPerSession (20) and MaxPerText
// (5) samples per day; others are not affected, and the next day counts
// afresh. The exported samples carry their session id.
func TestExport_CapsPerSessionAndText(t *testing.T) {
	s := openStore(t, nil)
	var qs []dataset.Query
	for i := range 300 { // one session, distinct texts
		q := llmQuery(fmt.Sprintf("f%d", i), fmt.Sprintf("flood text number %d", i), "goal_spicy")
		q.SessionID = "attacker"
		qs = append(qs, q)
	}
	for i := range 50 { // one text, many sessions
		q := llmQuery(fmt.Sprintf("t%d", i), "the SAME text!", "goal_spicy")
		q.SessionID = fmt.Sprintf("s%d", i)
		qs = append(qs, q)
	}
	for i := range 10 { // honest users
		q := llmQuery(fmt.Sprintf("h%d", i), fmt.Sprintf("honest question %d", i), "goal_comfort")
		q.SessionID = fmt.Sprintf("user%d", i)
		qs = append(qs, q)
	}
	q := llmQuery("next-day", "flood text the next day", "goal_spicy")
	q.SessionID, q.Timestamp = "attacker", t0.Add(25*time.Hour)
	qs = append(qs, q)
	logAll(t, s, qs...)
	st, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Exported != 20+5+10+1 || st.Rejected[dataset.ReasonSessionCap] != 280 || st.Rejected[dataset.ReasonTextCap] != 45 {
		t.Fatalf("exported %d, rejected %v; want 36, session_cap 280, text_cap 45", st.Exported, st.Rejected)
	}
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sessions := map[string]int{}
	for _, smp := range snap.New {
		sessions[smp.SessionID]++
	}
	if sessions["attacker"] != 21 || sessions["user3"] != 1 {
		t.Errorf("samples per session %v", sessions)
	}
}
