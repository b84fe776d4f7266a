package channels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// maxAnswer bounds what is read of a provider's JSON answer.
const maxAnswer = 1 << 20

// client is what every provider shares: the HTTP client, the base URL and
// the secrets to keep out of error texts.
type client struct {
	typ     Type
	base    string
	http    *http.Client
	secrets Secrets
	now     func() time.Time
}

func newClient(c Config, base string) *client {
	hc := c.Client
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &client{typ: c.Type, base: base, http: hc, secrets: c.Secrets, now: now}
}

func (c *client) Type() Type { return c.typ }

// scrub removes every secret from s, as it is and as it appears escaped in
// a URL.
func (c *client) scrub(s string) string {
	for _, v := range c.secrets.values() {
		for _, form := range []string{v, url.PathEscape(v), url.QueryEscape(v)} {
			s = strings.ReplaceAll(s, form, redacted)
		}
	}
	return s
}

// answer is a provider's reply, its body cut at maxAnswer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) ok() bool { return a.status >= 200 && a.status < 300 }

// newJSON builds a request with a JSON body (in may be nil).
func newJSON(ctx context.Context, method, u string, in any) (*http.Request, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// call sends a JSON request, with the bearer token when bearer is set, and
// reads the answer. Its error is a *Failure without secrets.
func (c *client) call(ctx context.Context, method, u string, in any, bearer bool, hdr http.Header) (*answer, error) {
	req, err := newJSON(ctx, method, u, in)
	if err != nil {
		return nil, c.invalid("building the request: %v", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if bearer {
		req.Header.Set("Authorization", "Bearer "+c.secrets.AccessToken)
	}
	return c.do(req)
}

// do performs req and reads at most maxAnswer bytes of the answer. A
// failure after the whole request was written is Uncertain: the provider
// may have acted on it.
func (c *client) do(req *http.Request) (*answer, error) {
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	}))
	resp, err := c.http.Do(req)
	if err != nil {
		f := c.transport(err)
		f.Uncertain = wrote.Load()
		return nil, f
	}
	defer func() { _ = resp.Body.Close() }() // read what was needed: closing loses nothing
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		f := c.transport(err)
		f.Uncertain = true
		return nil, f
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// getJSON reads a JSON object with the bearer token; fail classifies an
// answer that is not 2xx.
func (c *client) getJSON(ctx context.Context, u string, out any, fail func(*answer) error) error {
	a, err := c.call(ctx, http.MethodGet, u, nil, true, nil)
	if err != nil {
		return err
	}
	if !a.ok() {
		return fail(a)
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return c.invalid("answer not understood: %v", err)
	}
	return nil
}

// fetch downloads a customer's file and names it as the webhook did.
func (c *client) fetch(ctx context.Context, u string, bearer bool, max int64, a Attachment, fail func(*answer) error) (*Media, error) {
	m, err := c.download(ctx, u, bearer, max, fail)
	if err != nil {
		return nil, err
	}
	if a.MIME != "" {
		m.MIME = a.MIME
	}
	if a.Name != "" {
		m.Name = a.Name
	}
	return m, nil
}

// download GETs a file, with the bearer token when bearer is set. A
// non-2xx answer is classified by failOf.
func (c *client) download(ctx context.Context, u string, bearer bool, max int64, failOf func(*answer) error) (*Media, error) {
	if max <= 0 {
		max = DefaultMaxMedia
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return nil, c.invalid("file URL is not an http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, c.invalid("building the request: %v", err)
	}
	if bearer {
		req.Header.Set("Authorization", "Bearer "+c.secrets.AccessToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transport(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer func() { _ = resp.Body.Close() }() // read what was needed: closing loses nothing
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		return nil, failOf(&answer{status: resp.StatusCode, header: resp.Header, body: body})
	}
	if resp.ContentLength > max {
		_ = resp.Body.Close() // refused unread: closing loses nothing
		return nil, c.failure(ProviderError, resp.StatusCode, 0, fmt.Sprintf("file of %d bytes is over the limit of %d", resp.ContentLength, max))
	}
	m := &Media{Body: &limitedBody{rc: resp.Body, left: max}, Size: resp.ContentLength}
	m.MIME, _, _ = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if _, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		m.Name = cleanName(p["filename"])
	}
	return m, nil
}

// limitedBody fails with ErrFileTooLarge once more than left bytes come.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrFileTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n - 1, ErrFileTooLarge
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// cleanName keeps the last element of a file name, without control
// characters, at most 255 bytes.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	s = path.Base(strings.ReplaceAll(s, `\`, "/"))
	if s == "." || s == "/" || s == ".." {
		return ""
	}
	return clip(s, 255)
}

// retryKey is the X-Line-Retry-Key for a send id: the id itself when it is
// a UUID, else a UUID (version 5 layout) derived from it, so that every
// retry of one agent message carries the same key.
func retryKey(id string) string {
	if isUUID(id) {
		return strings.ToLower(id)
	}
	sum := sha256.Sum256([]byte("jabberdesk send id\x00" + id))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// fileKind sorts a MIME type into image, video, audio or file.
func fileKind(mimeType string) string {
	top, _, _ := strings.Cut(strings.ToLower(mimeType), "/")
	switch top {
	case "image", "video", "audio":
		return top
	}
	return "file"
}

// isPhoto says whether every provider shows the type inline as a photo.
func isPhoto(mimeType string) bool {
	switch strings.ToLower(mimeType) {
	case "image/jpeg", "image/png":
		return true
	}
	return false
}

// unixTime reads seconds (or milliseconds when ms) since the epoch.
func unixTime(n int64, ms bool) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	if ms {
		return time.UnixMilli(n).UTC()
	}
	return time.Unix(n, 0).UTC()
}

// checkMessage refuses a message whose content is not exactly one of text,
// file or template, or a template where the provider has none.
func checkMessage(c *client, m Message, templates bool) error {
	switch {
	case m.To == "":
		return c.invalid("message has no recipient")
	case m.Template != nil && !templates:
		return c.invalid("%s has no message templates", c.typ)
	case m.Template != nil && (m.File != nil || m.Text != ""):
		return c.invalid("a template message has no other content")
	case m.Template != nil && (m.Template.Name == "" || m.Template.Language == ""):
		return c.invalid("a template needs a name and a language")
	case m.File != nil && m.File.URL == "":
		return c.invalid("file has no URL")
	case m.Template == nil && m.File == nil && m.Text == "":
		return c.invalid("message is empty")
	case len(m.QuickReplies) > 0 && (m.File != nil || m.Template != nil):
		return c.invalid("quick replies go with a text message only")
	case len(m.QuickReplies) > MaxQuickReplies:
		return c.invalid("%d quick replies: at most %d", len(m.QuickReplies), MaxQuickReplies)
	}
	for _, q := range m.QuickReplies {
		if q == "" || utf8.RuneCountInString(q) > QuickReplyMax {
			return c.invalid("quick reply %q is not 1 to %d characters", q, QuickReplyMax)
		}
	}
	return nil
}
