// Command receiver is an example webhook receiver for the notifier in
// package moodfood/examples/webhook: it checks each delivery's signature and
// timestamp, drops repeated deliveries (same Idempotency-Key), and prints one
// line per event to standard output.
//
// Usage:
//
//	receiver [--listen 127.0.0.1:8080] [--secret-file FILE] [--max-skew 5m] [--allow-unsigned]
//
// The signing secret comes from --secret-file or the environment variable
// MOODFOOD_WEBHOOK_SECRET (never from a flag value, since a process's
// arguments are public). Without a secret the receiver refuses to start
// unless --allow-unsigned is given. Point the sender at it with
//
//	MOODFOOD_WEBHOOK_URL=http://127.0.0.1:8080/ MOODFOOD_WEBHOOK_SECRET=... cronjob run --root DIR
//
// Answers: 204 for an accepted or repeated delivery, 401 for a bad signature
// or a stale timestamp, 400 for a body that is not a delivery, 405 for
// anything but POST, 413 for a body over 1 MiB.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// main runs the receiver until SIGINT or SIGTERM.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags, listens and serves until ctx is done. It returns 0
// after a clean shutdown, 2 on a usage error and 1 on any other failure. The
// listening address is printed to stderr once the socket is open (useful
// with --listen 127.0.0.1:0).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fl.SetOutput(stderr)
	listen := fl.String("listen", "127.0.0.1:8080", "`address` to listen on")
	secretFile := fl.String("secret-file", "", "read the signing secret from `FILE` (default $MOODFOOD_WEBHOOK_SECRET)")
	maxSkew := fl.Duration("max-skew", 5*time.Minute, "refuse deliveries whose timestamp is further than this from now")
	unsigned := fl.Bool("allow-unsigned", false, "accept unsigned deliveries when no secret is configured")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "receiver: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	secret := strings.TrimSpace(os.Getenv("MOODFOOD_WEBHOOK_SECRET"))
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			fmt.Fprintln(stderr, "receiver:", err)
			return 1
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" && !*unsigned {
		fmt.Fprintln(stderr, "receiver: no secret (--secret-file or MOODFOOD_WEBHOOK_SECRET); pass --allow-unsigned to accept unsigned deliveries")
		return 2
	}
	h := &handler{secret: []byte(secret), maxSkew: *maxSkew, out: stdout, now: time.Now}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "receiver:", err)
		return 1
	}
	fmt.Fprintf(stderr, "receiver: listening on http://%s/\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "receiver:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "receiver: shutdown:", err)
		return 1
	}
	return 0
}
