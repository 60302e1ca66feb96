package web

import "strings"

// HasDotSegment reports whether a (decoded) request path has a "." or ".."
// segment: such a path is answered 400 before routing, so no handler ever
// sees req.params.rest = "../../etc/passwd".
func HasDotSegment(p string) bool {
	for len(p) > 0 {
		i := strings.IndexByte(p, '/')
		seg := p
		if i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
