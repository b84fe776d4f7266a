package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A value describes how one key is stored in a Config: its default, the
// values it accepts, and how a TOML value is checked and stored. The
// constructors below (str, filePath, integer, number, duration, ...) build values
// from a typed pointer into Config, so every row in fields() is type-checked
// by the compiler.
type value struct {
	def     string // the default, as a TOML literal
	accepts string // the accepted values, for people

	reset  func(*Config)
	decode func(*Config, any) error
	// resolve, if not nil, makes a relative path absolute against dir.
	resolve func(c *Config, dir string)
}

// A kind converts a decoded TOML value (string, int64, float64, ...) into a
// Go value of type T.
type kind[T any] struct {
	want   string               // e.g. "an integer (bytes)", used in type errors
	decode func(any) (T, error) // fails with wrongType or a parse error
	format func(T) string       // T as a TOML literal
	// normalize, if not nil, is applied to a decoded value once it has
	// passed the rules, so that messages show the value as written.
	normalize func(T) T
}

// A rule is one check on a decoded value. Its error message starts with the
// offending value and says what is accepted instead.
type rule[T any] struct {
	desc  string // what the rule accepts, for docs
	check func(T) error
}

func makeValue[T any](ptr func(*Config) *T, def T, k kind[T], rules ...rule[T]) value {
	accepts := []string{k.want}
	for _, r := range rules {
		if r.desc != "" {
			accepts = append(accepts, r.desc)
		}
	}
	return value{
		def:     k.format(def),
		accepts: strings.Join(accepts, ", "),
		reset:   func(c *Config) { *ptr(c) = def },
		decode: func(c *Config, raw any) error {
			v, err := k.decode(raw)
			if err != nil {
				return err
			}
			for _, r := range rules {
				if err := r.check(v); err != nil {
					return err
				}
			}
			if k.normalize != nil {
				v = k.normalize(v)
			}
			*ptr(c) = v
			return nil
		},
	}
}

// str is a string key.
func str(ptr func(*Config) *string, def string, rules ...rule[string]) value {
	return makeValue(ptr, def, stringKind("a string", nil), rules...)
}

// lowerStr is a string key that is stored lowercased (host names).
func lowerStr(ptr func(*Config) *string, def string, rules ...rule[string]) value {
	return makeValue(ptr, def, stringKind("a string", strings.ToLower), rules...)
}

// filePath is a file or directory name. A relative path is resolved against the
// directory containing the configuration file; "" stays "".
func filePath(ptr func(*Config) *string, def string, rules ...rule[string]) value {
	v := makeValue(ptr, def, stringKind("a path", nil), rules...)
	v.resolve = func(c *Config, dir string) {
		p := ptr(c)
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return v
}

// filePaths is a file name or a list of up to max of them, stored as a
// list: "" and [] are none. Relative paths are resolved as filePath's.
func filePaths(ptr func(*Config) *[]string, max int) value {
	want := fmt.Sprintf("a path, or a list of up to %d paths", max)
	k := kind[[]string]{
		want: want,
		decode: func(raw any) ([]string, error) {
			switch v := raw.(type) {
			case string:
				if v == "" {
					return nil, nil
				}
				return []string{v}, nil
			case []any:
				if len(v) > max {
					return nil, fmt.Errorf("lists %d files, too many (at most %d)", len(v), max)
				}
				var out []string
				for _, item := range v {
					s, ok := item.(string)
					if !ok || s == "" {
						return nil, fmt.Errorf("want %s, got %s in the list", want, describe(item))
					}
					out = append(out, s)
				}
				return out, nil
			}
			return nil, wrongType(want, raw)
		},
		format: func(ss []string) string {
			if len(ss) == 0 {
				return `""`
			}
			if len(ss) == 1 {
				return strconv.Quote(ss[0])
			}
			q := make([]string, len(ss))
			for i, s := range ss {
				q[i] = strconv.Quote(s)
			}
			return "[" + strings.Join(q, ", ") + "]"
		},
	}
	v := makeValue(ptr, nil, k)
	v.resolve = func(c *Config, dir string) {
		for i, p := range *ptr(c) {
			if !filepath.IsAbs(p) {
				(*ptr(c))[i] = filepath.Join(dir, p)
			}
		}
	}
	return v
}

// enum is a string key that must be one of values.
func enum(ptr func(*Config) *string, def string, values ...string) value {
	return str(ptr, def, oneOf(values...))
}

// integer is an integer key; unit, if not empty, is named in messages.
func integer(ptr func(*Config) *int, def int, unit string, rules ...rule[int]) value {
	want := "an integer"
	if unit != "" {
		want += " (" + unit + ")"
	}
	k := kind[int]{
		want: want,
		decode: func(raw any) (int, error) {
			n, ok := raw.(int64)
			if !ok {
				return 0, wrongType(want, raw)
			}
			if int64(int(n)) != n {
				return 0, fmt.Errorf("%d is too large", n)
			}
			return int(n), nil
		},
		format: strconv.Itoa,
	}
	return makeValue(ptr, def, k, rules...)
}

// boolean is a true/false key.
func boolean(ptr func(*Config) *bool, def bool) value {
	const want = "true or false"
	k := kind[bool]{
		want: want,
		decode: func(raw any) (bool, error) {
			b, ok := raw.(bool)
			if !ok {
				return false, wrongType(want, raw)
			}
			return b, nil
		},
		format: strconv.FormatBool,
	}
	return makeValue(ptr, def, k)
}

// number is a floating-point key; TOML integers are accepted too.
func number(ptr func(*Config) *float64, def float64, rules ...rule[float64]) value {
	const want = "a number"
	k := kind[float64]{
		want: want,
		decode: func(raw any) (float64, error) {
			var f float64
			switch v := raw.(type) {
			case int64:
				f = float64(v)
			case float64:
				f = v
			default:
				return 0, wrongType(want, raw)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("%v is not a finite number", f)
			}
			return f, nil
		},
		format: func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	}
	return makeValue(ptr, def, k, rules...)
}

// duration is a time.Duration written as a TOML string such as "30s".
func duration(ptr func(*Config) *time.Duration, def time.Duration, rules ...rule[time.Duration]) value {
	const want = `a duration (a string like "30s", "5m" or "1h30m")`
	k := kind[time.Duration]{
		want: want,
		decode: func(raw any) (time.Duration, error) {
			s, ok := raw.(string)
			if !ok {
				return 0, wrongType(want, raw)
			}
			d, err := time.ParseDuration(s)
			if err != nil {
				return 0, fmt.Errorf(`%q is not a duration (want a number and a unit: "ms", "s", "m" or "h", like "30s", "5m" or "1h30m")`, s)
			}
			return d, nil
		},
		format: func(d time.Duration) string { return strconv.Quote(formatDuration(d)) },
	}
	return makeValue(ptr, def, k, rules...)
}

// integer64 is a 64-bit integer key of at least min.
func integer64(ptr func(*Config) *int64, def int64, unit string, min int64) value {
	want := "an integer (" + unit + ")"
	k := kind[int64]{
		want: want,
		decode: func(raw any) (int64, error) {
			n, ok := raw.(int64)
			if !ok {
				return 0, wrongType(want, raw)
			}
			if n < min {
				return 0, fmt.Errorf("%d is too small (at least %d)", n, min)
			}
			return n, nil
		},
		format: func(n int64) string { return strconv.FormatInt(n, 10) },
	}
	return makeValue(ptr, def, k)
}

// mediaType checks a media type pattern like "image/*".
func mediaType(s string) error {
	major, minor, ok := strings.Cut(s, "/")
	if !ok || major == "" || minor == "" || strings.ContainsAny(s, " ;,") {
		return fmt.Errorf("%q is not a media type (like \"image/*\" or \"application/pdf\")", s)
	}
	return nil
}

// atLeastDuration accepts durations of at least min.
func atLeastDuration(min time.Duration) rule[time.Duration] {
	return rule[time.Duration]{
		desc: "0s or more",
		check: func(d time.Duration) error {
			if d < min {
				return fmt.Errorf("%s is negative", d)
			}
			return nil
		},
	}
}

// stringList is a list of strings, each checked by rule.
func stringList(ptr func(*Config) *[]string, def []string, what string, check func(string) error) value {
	want := "a list of " + what
	k := kind[[]string]{
		want: want,
		decode: func(raw any) ([]string, error) {
			list, ok := raw.([]any)
			if !ok {
				return nil, wrongType(want, raw)
			}
			out := []string{}
			for _, item := range list {
				s, ok := item.(string)
				if !ok {
					return nil, wrongType(want, raw)
				}
				if err := check(s); err != nil {
					return nil, err
				}
				out = append(out, s)
			}
			return out, nil
		},
		format: func(ss []string) string {
			q := make([]string, len(ss))
			for i, s := range ss {
				q[i] = strconv.Quote(s)
			}
			return "[" + strings.Join(q, ", ") + "]"
		},
	}
	return makeValue(ptr, def, k)
}

// prefixList is a list of IP addresses or CIDR prefixes ("10.0.0.0/8").
func prefixList(ptr func(*Config) *[]netip.Prefix, def []netip.Prefix) value {
	const want = `a list of IP addresses or CIDR prefixes (like ["127.0.0.1", "10.0.0.0/8"])`
	k := kind[[]netip.Prefix]{
		want: want,
		decode: func(raw any) ([]netip.Prefix, error) {
			list, ok := raw.([]any)
			if !ok {
				return nil, wrongType(want, raw)
			}
			out := []netip.Prefix{}
			for _, item := range list {
				s, ok := item.(string)
				if !ok {
					return nil, wrongType(want, raw)
				}
				p, err := parsePrefix(s)
				if err != nil {
					return nil, fmt.Errorf("%q is not an IP address or CIDR prefix (like \"10.0.0.0/8\")", s)
				}
				out = append(out, p)
			}
			return out, nil
		},
		format: func(ps []netip.Prefix) string {
			q := make([]string, len(ps))
			for i, p := range ps {
				q[i] = strconv.Quote(p.String())
			}
			return "[" + strings.Join(q, ", ") + "]"
		},
	}
	return makeValue(ptr, def, k)
}

// parsePrefix accepts a prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func stringKind(want string, normalize func(string) string) kind[string] {
	return kind[string]{
		want: want,
		decode: func(raw any) (string, error) {
			s, ok := raw.(string)
			if !ok {
				return "", wrongType(want, raw)
			}
			return s, nil
		},
		format:    strconv.Quote,
		normalize: normalize,
	}
}

// formatDuration is d.String() without zero trailing units: "5m", not "5m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func wrongType(want string, raw any) error {
	return fmt.Errorf("want %s, got %s", want, describe(raw))
}

// describe names the TOML type of a decoded value, with the value if it is a
// scalar: `string "big"`, `integer 5`, `table`.
func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case time.Time:
		return "date-time " + v.Format(time.RFC3339Nano)
	case fmt.Stringer: // toml.LocalDate, LocalTime, LocalDateTime
		return "date/time " + v.String()
	case []any:
		return "array"
	case map[string]any:
		return "table"
	default:
		return fmt.Sprintf("%T", raw)
	}
}

type numeric interface{ ~int | ~float64 }

// between accepts min <= v <= max.
func between[T numeric](min, max T) rule[T] {
	return rule[T]{
		desc: fmt.Sprintf("from %v to %v", min, max),
		check: func(v T) error {
			if v < min || v > max {
				return fmt.Errorf("%v is out of range (want %v to %v)", v, min, max)
			}
			return nil
		},
	}
}

// atLeast accepts v >= min.
func atLeast[T numeric](min T) rule[T] {
	return rule[T]{
		desc: fmt.Sprintf("%v or more", min),
		check: func(v T) error {
			if v < min {
				return fmt.Errorf("%v is too small (want %v or more)", v, min)
			}
			return nil
		},
	}
}

// positive accepts durations greater than zero.
func positive() rule[time.Duration] {
	return rule[time.Duration]{
		desc: "greater than 0",
		check: func(d time.Duration) error {
			if d <= 0 {
				return fmt.Errorf("%q is too short (want more than 0)", formatDuration(d))
			}
			return nil
		},
	}
}

func oneOf(values ...string) rule[string] {
	list := strings.Join(values, ", ")
	return rule[string]{
		desc: "one of " + list,
		check: func(s string) error {
			for _, v := range values {
				if s == v {
					return nil
				}
			}
			return fmt.Errorf("%q is not one of %s", s, list)
		},
	}
}

func notEmpty() rule[string] {
	return rule[string]{
		desc: "not empty",
		check: func(s string) error {
			if s == "" {
				return errors.New(`"" is not allowed (want a non-empty string)`)
			}
			return nil
		},
	}
}

// domainName accepts a DNS-style domain such as "help.example.com", in any
// case (see lowerStr).
// httpURL accepts "" or an absolute http(s) URL.
func httpURL() rule[string] {
	return rule[string]{
		desc: `an http:// or https:// URL, or "" for the default`,
		check: func(s string) error {
			if s == "" {
				return nil
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%q is not an http:// or https:// URL", s)
			}
			return nil
		},
	}
}

// storeURL accepts "" (the SQLite file in data_dir) or a postgres:// or
// postgresql:// URL. A message shows the value without its password.
func storeURL() rule[string] {
	const want = `want "" for the SQLite file in data_dir, or a PostgreSQL URL like "postgres://jabberdesk@db.example.com:5432/jabberdesk"`
	return rule[string]{
		desc: `"" for the SQLite file jabberdesk.db in data_dir, or a postgres:// URL`,
		check: func(s string) error {
			if s == "" {
				return nil
			}
			u, err := url.Parse(s)
			if err != nil {
				return fmt.Errorf("the value is not a URL (%s)", want)
			}
			if u.Scheme != "postgres" && u.Scheme != "postgresql" {
				return fmt.Errorf("%q is not a postgres:// URL (%s)", redactURL(s), want)
			}
			return nil
		},
	}
}

// natsURLs accepts "" or a comma-separated list of nats:// or tls://
// URLs.
func natsURLs() rule[string] {
	return rule[string]{
		desc: `"" for a single server, or nats:// URLs separated by commas`,
		check: func(s string) error {
			if s == "" {
				return nil
			}
			for _, one := range strings.Split(s, ",") {
				u, err := url.Parse(strings.TrimSpace(one))
				if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
					return fmt.Errorf("%q is not a nats:// or tls:// URL", redactURL(strings.TrimSpace(one)))
				}
			}
			return nil
		},
	}
}

// nodeName accepts "" (the host name) or a name of letters, digits, - and
// _, at most 64 long: it becomes part of NATS subjects and keys.
func nodeName() rule[string] {
	return rule[string]{
		desc: `"" for the host name, or letters, digits, - and _ (at most 64)`,
		check: func(s string) error {
			if len(s) > 64 {
				return fmt.Errorf("%q is longer than 64 characters", s)
			}
			for _, r := range s {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
					return fmt.Errorf("%q has %q: use letters, digits, - and _", s, r)
				}
			}
			return nil
		},
	}
}

// redactURL is a URL without its password, fit to print.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

func domainName() rule[string] {
	const want = `want a DNS name like "help.example.com": letters, digits, '-' and '.', without scheme, port, '@' or '/'`
	return rule[string]{
		desc: `a DNS name like "help.example.com" (letters, digits, '-' and '.'; stored lowercased)`,
		check: func(s string) error {
			if !isDomain(s) {
				return fmt.Errorf("%q is not a domain name (%s)", s, want)
			}
			return nil
		},
	}
}

// hostName accepts "", a DNS name or an IP address, without port.
func hostName(emptyMeans string) rule[string] {
	want := fmt.Sprintf(`want a DNS name like "chat.example.com" or an IP address, without port, or "" for %s`, emptyMeans)
	return rule[string]{
		desc: fmt.Sprintf(`a DNS name or IP address without port, or "" for %s`, emptyMeans),
		check: func(s string) error {
			if s == "" || isDomain(s) || net.ParseIP(s) != nil {
				return nil
			}
			return fmt.Errorf("%q is not a host name (%s)", s, want)
		},
	}
}

// isDomain reports whether s is a DNS name: dot-separated labels of 1 to 63
// ASCII letters, digits and '-', not starting or ending with '-'.
func isDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// listenAddr accepts "" (disabled) or host:port with a numeric port; port
// is the port used in messages.
func listenAddr(port string) rule[string] {
	desc := fmt.Sprintf(`host:port, like ":%s" or "127.0.0.1:%s", or "" to disable`, port, port)
	return rule[string]{
		desc: desc,
		check: func(s string) error {
			if s == "" {
				return nil
			}
			host, p, err := net.SplitHostPort(s)
			n, perr := strconv.Atoi(p)
			if err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " \t/@") {
				return fmt.Errorf("%q is not a listen address (want %s)", s, desc)
			}
			return nil
		},
	}
}
