package commands

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// maxURL is the longest address #p pushes, in bytes.
const maxURL = 2048

// normalizeURL checks an address for #p and returns it normalised, or a
// problem saying what is wrong with it.
//
// Accepted: http and https with a host, no user name or password, a port
// from 1 to 65535. "<…>" around the address is dropped, and an address
// without a scheme ("example.com/help", "example.com:8080") gets https://.
// Normalised: scheme and host in lower case (a host in another script is
// kept as it is, not percent-encoded), default port dropped, "/" for an
// empty path, path and fragment escaped as net/url does.
func normalizeURL(raw string) (string, string) {
	s := raw
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = s[1 : len(s)-1]
	}
	if len(s) > maxURL {
		return "", "the address is too long (at most " + strconv.Itoa(maxURL) + " characters)"
	}
	if !strings.Contains(s, "://") {
		if scheme, ok := schemeOf(s); ok {
			return "", "only http and https addresses can be pushed, not " + quote(scheme+":")
		}
		s = "https://" + strings.TrimPrefix(s, "//")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", quote(raw) + " is not a web address"
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", "only http and https addresses can be pushed, not " + quote(raw)
	}
	if u.User != nil {
		return "", quote(raw) + " has a user name or password in it; push the address without it"
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || u.Opaque != "" {
		return "", quote(raw) + " has no host name"
	}
	v6 := strings.HasPrefix(u.Host, "[")
	if !validHost(host, v6) {
		return "", quote(raw) + " has a host name that is not valid"
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", quote(raw) + " has a port that is not valid"
		}
		port = strconv.Itoa(n)
		if scheme == "http" && n == 80 || scheme == "https" && n == 443 {
			port = ""
		}
	}
	if v6 {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	// Written out by hand rather than with u.String, which would
	// percent-encode a host in another script ("bücher.de").
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	out := scheme + "://" + host + path
	if u.ForceQuery || u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	if len(out) > maxURL {
		return "", "the address is too long (at most " + strconv.Itoa(maxURL) + " characters)"
	}
	return out, ""
}

// schemeOf reports whether s, which has no "://", starts with a scheme
// ("mailto:", "javascript:") rather than a host and port
// ("example.com:8080/x").
func schemeOf(s string) (string, bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", false
	}
	after := s[i+1:]
	if j := strings.IndexAny(after, "/?#"); j >= 0 {
		after = after[:j]
	}
	if allDigits(after) || strings.ContainsAny(s[:i], "/?#") {
		return "", false // host:port, or a colon in the path, query or fragment
	}
	return s[:i], true
}

// validHost accepts IP addresses and names made of letters (any script),
// digits, "-", "_" and ".", not starting or ending with "." or "-" and
// without empty labels.
func validHost(host string, bracketed bool) bool {
	if bracketed {
		a, err := netip.ParseAddr(host)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	if strings.HasPrefix(host, ".") || strings.HasPrefix(host, "-") ||
		strings.HasSuffix(host, "-") || strings.Contains(host, "..") {
		return false
	}
	for _, r := range host {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return false
		}
	}
	return true
}
