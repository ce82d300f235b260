package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrDestination is wrapped by the error of a delivery the destination
// policy refused: the webhook resolved to an address that is not public
// (loopback, private, link-local, ...) and not in Options.Allow, or that is
// in Options.Deny.
var ErrDestination = errors.New("webhook: destination address not allowed")

// allowed reports whether the webhook may connect to a.
//
// Deny wins; then an address in Allow is allowed; then every public unicast
// address is, and loopback, private (RFC 1918, RFC 4193), link-local,
// shared (RFC 6598), unspecified, multicast and broadcast ones are not.
func (n *Notifier) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range n.opts.Deny {
		if p.Contains(a) {
			return false
		}
	}
	for _, p := range n.opts.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return a.IsGlobalUnicast() && !a.IsPrivate() && !shared.Contains(a) && a != broadcast
}

var (
	shared    = netip.MustParsePrefix("100.64.0.0/10")
	broadcast = netip.MustParseAddr("255.255.255.255")
)

// control is the net.Dialer hook that checks each address the transport
// is about to connect to, after DNS resolution, so that a name that
// resolves to an internal address (or changes to one: DNS rebinding) is
// refused whatever the URL said.
func (n *Notifier) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDestination, err)
	}
	if !n.allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrDestination, ap.Addr())
	}
	return nil
}

// checkRedirect follows a redirect only within the webhook URL's origin
// (scheme, host and port) and at most 5 times; a redirect elsewhere is not
// followed, so the signed body never reaches another host (the 3xx answer
// then fails the delivery).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return http.ErrUseLastResponse
	}
	o := via[0].URL
	if req.URL.Scheme != o.Scheme || req.URL.Host != o.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// client returns the http.Client deliveries go through: Options.Client (or
// a new one with Timeout), copied, with checkRedirect and, when its
// transport is the default or an *http.Transport without its own dialer, a
// dialer that applies the destination policy.
func (n *Notifier) client(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{Timeout: n.opts.Timeout}
	}
	cc := *c
	cc.CheckRedirect = checkRedirect
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		if t.DialContext != nil || t.Dial != nil || t.DialTLSContext != nil || t.DialTLS != nil {
			return &cc // its own dialer: its own policy
		}
		tr = t.Clone()
	default:
		return &cc
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: n.control}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	cc.Transport = tr
	return &cc
}
