package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"moodfood/examples/webhook"
	"moodfood/retrain"
)

// webhookFlags are run's webhook settings. The URL (which usually embeds a
// token) and the signing secret come from files or the environment, never
// from flag values, because a process's arguments are visible to every user
// of the machine.
type webhookFlags struct {
	urlFile, secretFile string
}

// register adds the webhook flags to fl.
func (w *webhookFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&w.urlFile, "webhook-url-file", "", "read the webhook URL from `FILE` (default $MOODFOOD_WEBHOOK_URL)")
	fl.StringVar(&w.secretFile, "webhook-secret-file", "", "read the webhook signing secret from `FILE` (default $MOODFOOD_WEBHOOK_SECRET)")
}

// notifier returns the webhook notifier, or nil when no URL is configured.
// A file readable by group or others draws a warning on warn, and so does
// every notification that could not be delivered (the run's outcome does
// not change: the history and retrain.log have it too).
func (w *webhookFlags) notifier(warn io.Writer) (retrain.Notifier, error) {
	url, err := secretValue(w.urlFile, "MOODFOOD_WEBHOOK_URL", "--webhook-url-file", warn)
	if err != nil {
		return nil, err
	}
	secret, err := secretValue(w.secretFile, "MOODFOOD_WEBHOOK_SECRET", "--webhook-secret-file", warn)
	if err != nil {
		return nil, err
	}
	if url == "" {
		if secret != "" {
			return nil, errors.New("a webhook secret is set but no webhook URL (--webhook-url-file or MOODFOOD_WEBHOOK_URL)")
		}
		return nil, nil
	}
	var opts webhook.Options
	if secret != "" {
		opts.Secret = []byte(secret)
	}
	if opts.Allow, err = prefixes(os.Getenv("MOODFOOD_WEBHOOK_ALLOW"), "MOODFOOD_WEBHOOK_ALLOW"); err != nil {
		return nil, err
	}
	if opts.Deny, err = prefixes(os.Getenv("MOODFOOD_WEBHOOK_DENY"), "MOODFOOD_WEBHOOK_DENY"); err != nil {
		return nil, err
	}
	n, err := webhook.New(url, &opts)
	if err != nil {
		return nil, err // the webhook package never puts the URL in an error
	}
	return retrain.NotifierFunc(func(ctx context.Context, e retrain.Event) error {
		err := n.Notify(ctx, e)
		if err != nil {
			fmt.Fprintf(warn, "warning: webhook: %s notification not delivered: %v\n", e.Type, err)
		}
		return err
	}), nil
}

// secretValue reads a setting from file (trimmed of surrounding white
// space) or, when file is empty, from the environment variable env.
func secretValue(file, env, flagName string, warn io.Writer) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(env)), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(warn, "warning: %s %s is readable by other users (mode %04o); chmod 600 it\n", flagName, file, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s %s is empty", flagName, file)
	}
	return v, nil
}

// prefixes parses a comma-separated list of CIDR prefixes or addresses
// (an address is its own /32 or /128).
func prefixes(list, name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%s: %q is neither a CIDR prefix nor an address", name, f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
