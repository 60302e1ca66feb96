package http

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Policy is the egress allow-list of one plugin (its config's http.allow).
// The zero Policy allows nothing.
//
// A pattern is a host name ("api.example.com"), an IP address ("10.0.0.7",
// "::1"), either with a port ("api.example.com:8443", "[::1]:8080"), a
// subdomain wildcard ("*.example.com": any name below example.com, not
// example.com itself) or "*" (any host). Names compare case-insensitively.
//
// A host listed exactly (a name or address, not matched by a wildcard) is
// "explicit": only explicit hosts may reach loopback, private, link-local,
// unspecified or multicast addresses, so that a wildcard cannot be turned
// against the engine's own network by a DNS answer.
type Policy struct {
	patterns []pattern
}

type pattern struct {
	host     string // lower-case name or canonical address; "" for "*"
	port     string // "" for any port
	wildcard bool   // "*.host": names strictly below host
}

// ParsePolicy parses the http.allow patterns.
func ParsePolicy(allow []string) (Policy, error) {
	var p Policy
	for _, s := range allow {
		pt, err := parsePattern(strings.TrimSpace(s))
		if err != nil {
			return Policy{}, fmt.Errorf("http.allow: %q: %w", s, err)
		}
		p.patterns = append(p.patterns, pt)
	}
	return p, nil
}

func parsePattern(s string) (pattern, error) {
	switch {
	case s == "":
		return pattern{}, errors.New("empty pattern")
	case s == "*":
		return pattern{wildcard: true}, nil
	case strings.Contains(s, "/"):
		return pattern{}, errors.New("a host pattern, not a URL (no scheme or path)")
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return pattern{}, errors.New("bad port")
		}
		host, port = h, p
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return pattern{host: a.Unmap().String(), port: port}, nil
	}
	wildcard := strings.HasPrefix(host, "*.")
	host = strings.ToLower(strings.TrimPrefix(host, "*."))
	if host == "" || strings.ContainsAny(host, "*[]@ ") {
		return pattern{}, errors.New(`bad host (use "name", "*.name", "name:port", an IP address or "*")`)
	}
	return pattern{host: host, port: port, wildcard: wildcard}, nil
}

// Empty reports whether the policy allows nothing.
func (p Policy) Empty() bool { return len(p.patterns) == 0 }

// Match reports whether host (a name or address) and port are allowed, and
// whether an exact pattern allows them (so private addresses may be used).
func (p Policy) Match(host, port string) (allowed, explicit bool) {
	host = canonicalHost(host)
	for _, pt := range p.patterns {
		if pt.port != "" && pt.port != port {
			continue
		}
		switch {
		case !pt.wildcard && pt.host == host:
			return true, true
		case pt.wildcard && (pt.host == "" || strings.HasSuffix(host, "."+pt.host)):
			allowed = true
		}
	}
	return allowed, false
}

func canonicalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

// special reports why ip is refused to a non-explicit host, or "".
func special(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate(), cgnat.Contains(ip):
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	return ""
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// RefusedError is a request the egress policy did not let out. No
// connection was made for it.
type RefusedError struct {
	Plugin string
	Host   string
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("vbwd.http: %s refused for plugin %s: %s", e.Host, e.Plugin, e.Reason)
}

// grant is what a request carries to the dialer: the policy it was checked
// against and the host it was checked for.
type grant struct {
	plugin       string
	policy       Policy
	explicitName bool // set by the dialer: the name dialed is listed exactly
}

type grantKey struct{}

func withGrant(ctx context.Context, g *grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// checkAddr refuses ip for host:port unless host is explicitly allowed or
// ip is a public address. It runs after DNS resolution, before connecting.
func (g *grant) checkAddr(host, port string, ip netip.Addr) error {
	why := special(ip)
	if why == "" {
		return nil
	}
	if _, explicit := g.policy.Match(host, port); explicit {
		return nil
	}
	if _, explicit := g.policy.Match(ip.String(), port); explicit {
		return nil
	}
	return &RefusedError{Plugin: g.plugin, Host: host,
		Reason: fmt.Sprintf("it resolves to %s, a %s address; list the host or address itself in http.allow to reach it", ip, why)}
}

// Resolver looks up a host's addresses; net.DefaultResolver in production,
// a table in tests.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// dialer resolves, checks every address against the request's grant, and
// connects only to an allowed one. A dial without a grant is refused.
type dialer struct {
	resolver Resolver
	net      net.Dialer
}

func newDialer(r Resolver) *dialer {
	if r == nil {
		r = net.DefaultResolver
	}
	d := &dialer{resolver: r}
	d.net = net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	// A second check on the address actually connected to, in case a
	// future change dials a name: Control sees the resolved address.
	d.net.ControlContext = func(ctx context.Context, network, address string, _ syscall.RawConn) error {
		g, _ := ctx.Value(grantKey{}).(*grant)
		if g == nil {
			return errors.New("vbwd.http: dial without an egress grant")
		}
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if special(ip) != "" {
			if _, explicit := g.policy.Match(ip.String(), port); !explicit && !g.explicitName {
				return &RefusedError{Plugin: g.plugin, Host: address, Reason: "a " + special(ip) + " address"}
			}
		}
		return nil
	}
	return d
}

func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	g, _ := ctx.Value(grantKey{}).(*grant)
	if g == nil {
		return nil, errors.New("vbwd.http: dial without an egress grant")
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ips, err := d.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, ip := range ips {
		if err := g.checkAddr(host, port, ip); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		// Control re-checks the address; it needs to know the name was explicit.
		_, ex := g.policy.Match(host, port)
		ctx := withGrant(ctx, &grant{plugin: g.plugin, policy: g.policy, explicitName: ex})
		c, err := d.net.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("vbwd.http: %s has no address", host)
	}
	return nil, firstErr
}
