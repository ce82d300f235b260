package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"moodfood/retrain"
)

// cmdApprove implements "cronjob approve RUN_ID".
func cmdApprove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return decideCmd(ctx, "approve", args, stdout, stderr, false,
		"Deploys the candidate that the run RUN_ID (started with --require-approval) staged,\n"+
			"under the run lock: verified before, canaries after, data watermark committed.\n"+
			"Recorded in the run history and notified. Exits 4 while a run holds the lock.",
		(*retrain.Retrainer).Approve)
}

// cmdReject implements "cronjob reject RUN_ID".
func cmdReject(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return decideCmd(ctx, "reject", args, stdout, stderr, false,
		"Drops the candidate that the run RUN_ID staged: it is not deployed (promote can still\n"+
			"deploy it on purpose). Recorded in the run history and notified.",
		(*retrain.Retrainer).Reject)
}

// cmdPromote implements "cronjob promote RUN_ID --reason TEXT".
func cmdPromote(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return decideCmd(ctx, "promote", args, stdout, stderr, true,
		"Deploys on purpose a candidate that was rejected (by the gate in a --require-approval\n"+
			"run, or by reject). --reason is required and recorded in the history.",
		(*retrain.Retrainer).Promote)
}

// decideCmd parses "NAME [--root DIR] [--reason TEXT] RUN_ID" and applies
// decide to the run's candidate.
func decideCmd(ctx context.Context, name string, args []string, stdout, stderr io.Writer, needReason bool, help string,
	decide func(*retrain.Retrainer, context.Context, string, string) (retrain.Result, error)) int {
	fl := newFlagSet(name, stderr, name+" [--root DIR] [--reason TEXT] [--webhook-url-file F] [--webhook-secret-file F] RUN_ID", help)
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	reason := fl.String("reason", "", "why (recorded in the history)")
	var wh webhookFlags
	wh.register(fl)
	// The run id may come before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fl.Parse(args); err != nil {
		return exitUsage
	}
	if id == "" && fl.NArg() > 0 {
		id = fl.Arg(0)
		if fl.NArg() > 1 {
			fmt.Fprintf(stderr, "cronjob %s: unexpected argument %q\n", name, fl.Arg(1))
			return exitUsage
		}
	} else if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "cronjob %s: unexpected argument %q\n", name, fl.Arg(0))
		return exitUsage
	}
	if id == "" || (needReason && strings.TrimSpace(*reason) == "") {
		fl.Usage()
		return exitUsage
	}
	root, err := existingRoot(*rootF)
	if err != nil {
		fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
		return exitFailed
	}
	notifier, err := wh.notifier(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
		return exitFailed
	}
	rt, err := retrain.Open(root, &retrain.Options{Notifier: notifier})
	if err != nil {
		fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
		return exitFailed
	}
	res, err := decide(rt, ctx, id, *reason)
	if cerr := rt.Close(); cerr != nil && err == nil {
		fmt.Fprintf(stderr, "cronjob %s: warning: close: %v\n", name, cerr)
	}
	switch {
	case errors.Is(err, retrain.ErrBusy):
		fmt.Fprintf(stderr, "cronjob %s: a retraining run holds the lock on %s; try again when it ends\n", name, root)
		return exitBusy
	case err != nil:
		fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
		return exitFailed
	}
	fmt.Fprintln(stdout, res.Record.Summary())
	for _, w := range res.Record.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	code, _ := exitCode(res, nil)
	return code
}
