package catalog

import "strings"

// Catalogue links are hostile input: a feed written by marketplace sellers
// can hold "javascript:alert(1)" in its url column, and a shop page that
// puts it into an href runs it in the shop's origin when a shopper clicks.
// SafeURL is the one rule every layer applies (the builder when it reads
// the catalogue, the display reader, the edge API, the page and the embed
// through static/lookalike/safeurl.js): a link is kept only when it is an
// absolute http: or https: URL, or a relative one.

// ReasonUnsafeURL is the row problem of a url value that SafeURL refused:
// the value is dropped and the product is kept (see Item.Warnings).
const ReasonUnsafeURL = "unsafe url"

// SafeURL returns s ready for an href or src, or ok = false when s must
// not reach one. It follows how browsers read a URL (the WHATWG URL
// standard): leading and trailing C0 controls and spaces are ignored, so
// they are trimmed; tabs and newlines inside are removed by browsers
// (which would turn "java\tscript:" into "javascript:"), so any control
// character refuses the URL; a scheme is an ASCII letter followed by
// letters, digits, "+", "-" or "." up to the first ":", compared without
// regard to case. Without a scheme the URL is relative and kept.
// An empty s gives "", true.
func SafeURL(s string) (string, bool) {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return "", false
		}
	}
	scheme, ok := urlScheme(s)
	if !ok {
		return s, true // relative: "/p/1", "p/1", "?q", "#x", "//host/p"
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		return s, true
	}
	return "", false
}

// urlScheme returns the scheme of s as a browser reads it, if s has one.
func urlScheme(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], true
		default:
			return "", false
		}
	}
	return "", false
}
