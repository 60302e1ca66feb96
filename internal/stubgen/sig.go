package stubgen

import (
	"fmt"
	"regexp"
	"strings"
)

// signature is a parsed hostapi.Export.Sig.
//
//	encode(v: any): string?, string?     a function: params and results
//	null: userdata                       a value: its type
type signature struct {
	Name    string
	Func    bool
	Params  []param  // functions only
	Results []string // functions only: result types, "...T" for a variadic tail
	Type    string   // values only
}

// param is one parameter: "name: T", "name?: T" (optional) or "...: T".
type param struct {
	Name     string // identifier or "..."
	Optional bool
	Type     string // "any" when the signature gives none
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

// parseSig parses a one-line LuaLS-style signature (see hostapi.Export).
func parseSig(s string) (signature, error) {
	var sig signature
	if strings.ContainsAny(s, "\r\n") {
		return sig, fmt.Errorf("signature %q spans several lines", s)
	}
	s = strings.TrimSpace(s)
	sig.Name = identRE.FindString(s)
	if sig.Name == "" {
		return sig, fmt.Errorf("signature %q does not start with a name", s)
	}
	rest := strings.TrimSpace(s[len(sig.Name):])
	switch {
	case strings.HasPrefix(rest, "("):
		sig.Func = true
		return sig, parseFunc(&sig, rest)
	case strings.HasPrefix(rest, ":"):
		sig.Type = strings.TrimSpace(rest[1:])
		if sig.Type == "" {
			return sig, fmt.Errorf("signature %q: value without a type", s)
		}
		return sig, nil
	}
	return sig, fmt.Errorf("signature %q: want name(params)[: results] or name: type", s)
}

// parseFunc parses "(params)[: results]" into sig.
func parseFunc(sig *signature, s string) error {
	end := closing(s)
	if end < 0 {
		return fmt.Errorf("signature of %s: unbalanced brackets in %q", sig.Name, s)
	}
	for _, p := range splitTop(s[1:end]) {
		pa, err := parseParam(p)
		if err != nil {
			return fmt.Errorf("signature of %s: %w", sig.Name, err)
		}
		sig.Params = append(sig.Params, pa)
	}
	for i, p := range sig.Params {
		if p.Name == "..." && i != len(sig.Params)-1 {
			return fmt.Errorf("signature of %s: ... must be the last parameter", sig.Name)
		}
	}
	rest := strings.TrimSpace(s[end+1:])
	if rest == "" {
		return nil
	}
	if !strings.HasPrefix(rest, ":") {
		return fmt.Errorf("signature of %s: unexpected %q after the parameters", sig.Name, rest)
	}
	for _, r := range splitTop(rest[1:]) {
		if r == "" {
			return fmt.Errorf("signature of %s: empty result type", sig.Name)
		}
		sig.Results = append(sig.Results, r)
	}
	if len(sig.Results) == 0 {
		return fmt.Errorf("signature of %s: ':' without result types", sig.Name)
	}
	for i, r := range sig.Results {
		if strings.HasPrefix(r, "...") && i != len(sig.Results)-1 {
			return fmt.Errorf("signature of %s: a variadic result must be the last", sig.Name)
		}
	}
	return nil
}

func parseParam(s string) (param, error) {
	name, typ, hasType := strings.Cut(s, ":")
	name, typ = strings.TrimSpace(name), strings.TrimSpace(typ)
	p := param{Name: name, Type: typ}
	if strings.HasSuffix(p.Name, "?") {
		p.Name, p.Optional = strings.TrimSuffix(p.Name, "?"), true
	}
	if p.Name != "..." && identRE.FindString(p.Name) != p.Name {
		return p, fmt.Errorf("bad parameter %q", s)
	}
	if hasType && typ == "" {
		return p, fmt.Errorf("parameter %q has an empty type", s)
	}
	if !hasType {
		p.Type = "any"
	}
	return p, nil
}

// closing returns the index of the bracket closing s[0], or -1.
func closing(s string) int {
	depth := 0
	for i, c := range s {
		switch c {
		case '(', '[', '{', '<':
			depth++
		case ')', ']', '}', '>':
			depth--
			if depth == 0 {
				return i
			}
			if depth < 0 {
				return -1
			}
		}
	}
	return -1
}

// splitTop splits s at the commas outside brackets and trims the parts; an
// empty s gives no parts.
func splitTop(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(', '[', '{', '<':
			depth++
		case ')', ']', '}', '>':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}
