package retrain

import (
	"fmt"

	"moodfood/backup"
)

// canaryPlan is the dry-run plan line of the post-deploy check.
func canaryPlan(canaries int, deployed backup.Version) string {
	if canaries == 0 {
		return "load it back from the store and decode it (no canary utterances configured)"
	}
	return fmt.Sprintf("load it back from the store and check %d canary utterance(s); roll back to %s if one fails", canaries, orNone(deployed))
}

// watermarkPlan is the dry-run plan line of the watermark commit.
func watermarkPlan(newSamples int) string {
	if newSamples == 0 {
		return "commit the data watermark (no new samples: nothing changes)"
	}
	return fmt.Sprintf("commit the data watermark (the %d new sample(s) become old)", newSamples)
}
