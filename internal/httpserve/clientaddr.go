package httpserve

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddrFunc returns a function giving the address of the client
// behind a request, for the failed-login limiter and the logs.
//
// X-Forwarded-For and X-Real-IP are believed only when the TCP peer is one
// of the trusted proxies: anyone else could write any address there and
// dodge the login back-off. X-Forwarded-For is read from the right (each
// proxy appends the address it saw), skipping trusted proxies, and the
// first address not in trusted is the client; everything to its left was
// written by a party we cannot vouch for. With no trusted proxies the TCP
// peer is always the answer.
func ClientAddrFunc(trusted []netip.Prefix) func(*http.Request) netip.Addr {
	trusted = append([]netip.Prefix(nil), trusted...)
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) netip.Addr {
		peer := parseHostPort(r.RemoteAddr)
		if len(trusted) == 0 || !peer.IsValid() || !isTrusted(peer) {
			return peer
		}
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			// Several headers are one list in order (RFC 9110 5.3).
			hops := strings.Split(strings.Join(xff, ","), ",")
			client := peer
			for i := len(hops) - 1; i >= 0; i-- {
				a := parseHostPort(strings.TrimSpace(hops[i]))
				if !a.IsValid() {
					// Garbage (or "unknown"): nothing to its left can be
					// trusted; the last hop we could read is the answer.
					return client
				}
				client = a
				if !isTrusted(a) {
					return a
				}
			}
			return client // every hop is a trusted proxy
		}
		if a := parseHostPort(strings.TrimSpace(r.Header.Get("X-Real-IP"))); a.IsValid() {
			return a
		}
		return peer
	}
}

// parseHostPort reads "1.2.3.4", "1.2.3.4:5678", "::1", "[::1]:80" or
// "[::1]"; the zero Addr when it is none of them. IPv4-mapped IPv6 is
// unmapped so prefixes written as IPv4 match.
func parseHostPort(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}

// ParsePrefixes reads trusted-proxy entries: CIDR prefixes ("10.0.0.0/8")
// or single addresses ("192.0.2.7", taken as /32 or /128).
func ParsePrefixes(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
