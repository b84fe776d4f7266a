// Package channelstest runs fake provider servers for tests: Telegram Bot
// API, WhatsApp Cloud API, LINE Messaging API and the Messenger Platform
// (Messenger and Instagram), each with the endpoints package channels
// calls, the payload shapes, headers, error bodies and codes the
// providers document. A Fake records every request in order, can be told
// to fail the next sends with a documented error, serves customer files,
// and builds correctly signed webhook requests.
package channelstest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/channels"
)

// Fault is a documented provider error the fake answers to a send instead
// of delivering it.
type Fault struct {
	// Kind picks the provider's documented error for that case:
	// TokenExpired, CustomerBlocked (Telegram, Messenger, Instagram),
	// OutsideWindow (WhatsApp, Messenger, Instagram), RateLimited,
	// Temporary (a 5xx) or ProviderError (a 400).
	Kind channels.Kind
	// RetryAfter is the wait in seconds a RateLimited answer asks for:
	// Telegram's parameters.retry_after, a Retry-After header elsewhere.
	RetryAfter int
	// Hangup closes the connection without an answer, as a network
	// failure would (Kind is then ignored).
	Hangup bool
	// Delivered delivers the message (and, on LINE, accepts its retry
	// key) before failing: the answer was lost, not the message.
	Delivered bool
}

// Request is one request the fake received.
type Request struct {
	// Endpoint names what was called: the Bot API method (sendMessage…),
	// or messages, media, phone, profile, me, reply, push, loading,
	// content, info, file.
	Endpoint string
	Method   string
	// Path is the request path with the bot token replaced by {token}.
	Path   string
	Header http.Header
	Body   []byte
	// JSON is the decoded JSON body; Form has the fields of a multipart
	// body (a file part as its content).
	JSON map[string]any
	Form map[string]string
	// Status is the fake's answer (0 after a hangup).
	Status int
	// Delivered is set on a message that reached the customer, and
	// MessageID is the id the fake gave it.
	Delivered bool
	MessageID string
}

type file struct {
	data []byte
	mime string
	name string
}

// Fake is one provider's fake server.
type Fake struct {
	Type          channels.Type
	Secrets       channels.Secrets
	PhoneNumberID string // WhatsApp
	// URL is the base URL to configure (Config gives it).
	URL    string
	Server *httptest.Server
	// Now is the fake's clock, for LINE reply tokens; ReplyTTL is how
	// long the fake accepts a reply token (default one minute).
	Now      func() time.Time
	ReplyTTL time.Duration

	t           testing.TB
	mu          sync.Mutex
	reqs        []Request
	faults      []Fault
	files       map[string]file
	profiles    map[string]string
	retryKeys   map[string]string
	replyTokens map[string]time.Time
	blocked     map[string]bool
	webhook     Registration
	seq         int
}

// New starts a fake for typ with fresh random secrets; it stops when the
// test ends.
func New(t testing.TB, typ channels.Type) *Fake {
	t.Helper()
	f := &Fake{
		Type: typ, Now: time.Now, ReplyTTL: time.Minute, t: t,
		files: map[string]file{}, profiles: map[string]string{}, retryKeys: map[string]string{},
		replyTokens: map[string]time.Time{}, blocked: map[string]bool{},
	}
	switch typ {
	case channels.Telegram:
		f.Secrets = channels.Secrets{BotToken: "123456:" + token(16), SecretToken: token(16)}
	case channels.LINE:
		f.Secrets = channels.Secrets{AccessToken: token(24), ChannelSecret: token(16)}
	case channels.WhatsApp, channels.Messenger, channels.Instagram:
		f.Secrets = channels.Secrets{AccessToken: "EAA" + token(24), AppSecret: token(16), VerifyToken: token(8)}
		if typ == channels.WhatsApp {
			f.PhoneNumberID = "106540352242922"
		}
	default:
		t.Fatalf("channelstest: unknown type %q", typ)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Server.Close)
	f.URL = f.Server.URL
	if typ != channels.Telegram && typ != channels.LINE {
		f.URL += "/" + channels.GraphVersion
	}
	return f
}

func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// Config is a channels.Config that points at the fake.
func (f *Fake) Config() channels.Config {
	return channels.Config{Type: f.Type, BaseURL: f.URL, PhoneNumberID: f.PhoneNumberID, Secrets: f.Secrets, Client: f.Server.Client()}
}

// Provider is channels.New(f.Config()).
func (f *Fake) Provider() channels.Provider {
	f.t.Helper()
	p, err := channels.New(f.Config())
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// FailNext makes the next n sends (and Telegram webhook registrations)
// fail with fault.
func (f *Fake) FailNext(n int, fault Fault) {
	f.t.Helper()
	if !fault.Hangup && f.errorBody(fault) == nil {
		f.t.Fatalf("channelstest: %s documents no %s error to send", f.Type, fault.Kind)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.faults = append(f.faults, fault)
	}
}

// Requests returns every request so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// Sent returns the messages delivered to customers, in order.
func (f *Fake) Sent() []Request {
	var out []Request
	for _, r := range f.Requests() {
		if r.Delivered {
			out = append(out, r)
		}
	}
	return out
}

// SetProfile sets the name the profile endpoint gives for a user.
func (f *Fake) SetProfile(userID, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.profiles[userID] = name
}

// AddFile stores a customer's file and returns it as a webhook would
// name it (Telegram file_id, WhatsApp media id, LINE message id, or a
// Messenger and Instagram CDN URL).
func (f *Fake) AddFile(data []byte, mimeType, name string) channels.Attachment {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("%d", 1003383421387000+f.seq)
	if f.Type == channels.Telegram {
		id = "BQACAgIAAxkBAAI" + token(12)
	}
	f.files[id] = file{data: data, mime: mimeType, name: name}
	a := channels.Attachment{Kind: kindOf(mimeType), ID: id, MIME: mimeType, Name: name, Size: int64(len(data))}
	if f.Type == channels.Messenger || f.Type == channels.Instagram {
		a.ID, a.MIME, a.Name, a.Size = "", "", "", 0
		a.URL = f.Server.URL + "/cdn/" + id + "?_nc_sig=" + token(8)
	}
	return a
}

func kindOf(mimeType string) string {
	top, _, _ := strings.Cut(mimeType, "/")
	switch top {
	case "image", "video", "audio":
		return top
	}
	return "file"
}

// Sign returns the headers the provider signs a webhook body with.
func Sign(typ channels.Type, s channels.Secrets, body []byte) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	switch typ {
	case channels.Telegram:
		h.Set("X-Telegram-Bot-Api-Secret-Token", s.SecretToken)
	case channels.LINE:
		mac := hmac.New(sha256.New, []byte(s.ChannelSecret))
		mac.Write(body)
		h.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	default:
		mac := hmac.New(sha256.New, []byte(s.AppSecret))
		mac.Write(body)
		h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	return h
}

// Sign returns the headers of this fake's provider for body.
func (f *Fake) Sign(body []byte) http.Header { return Sign(f.Type, f.Secrets, body) }

// WebhookRequest is a signed POST of body to target, as the provider sends
// it.
func (f *Fake) WebhookRequest(target string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for k, v := range f.Sign(body) {
		r.Header[k] = v
	}
	return r
}

// PostSigned sends body to a webhook URL over HTTP, signed as the
// provider signs it, and returns the status.
func (f *Fake) PostSigned(t testing.TB, hook string, body []byte) int {
	t.Helper()
	return f.Post(t, hook, body, f.Sign(body))
}

// Post sends body to a webhook URL over HTTP with header (nil: none) and
// returns the status.
func (f *Fake) Post(t testing.TB, hook string, body []byte, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close() // the status is the answer
	return res.StatusCode
}

// UserID is a customer id of the provider's form.
func UserID(typ channels.Type) string {
	if typ == channels.LINE {
		return "U4af4980629c8d6ab4a3e1a2b2f1e0cd1"
	}
	return "4915112345678"
}

// HandshakeQuery is the query of Meta's GET subscription check.
func (f *Fake) HandshakeQuery(challenge string) url.Values {
	return url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {f.Secrets.VerifyToken}, "hub.challenge": {challenge}}
}

// serve records a request and hands it to the provider's handler.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if f.Secrets.BotToken != "" {
		req.Path = strings.ReplaceAll(req.Path, f.Secrets.BotToken, "{token}")
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		_ = json.Unmarshal(body, &req.JSON)
	case "multipart/form-data":
		req.Form = readForm(body, params["boundary"])
	}
	rec := &recorder{ResponseWriter: w}
	switch f.Type {
	case channels.Telegram:
		f.telegram(rec, r, &req)
	case channels.WhatsApp:
		f.whatsApp(rec, r, &req)
	case channels.LINE:
		f.line(rec, r, &req)
	default:
		f.meta(rec, r, &req)
	}
	req.Status = rec.status
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
}

func readForm(body []byte, boundary string) map[string]string {
	form := map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return form
		}
		b, _ := io.ReadAll(p)
		form[p.FormName()] = string(b)
		if p.FileName() != "" {
			form[p.FormName()+".filename"] = p.FileName()
		}
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// send runs a message send: the next fault if one is queued, else deliver.
// deliver records the message and returns its id, or writes its own error
// and returns "".
func (f *Fake) send(w http.ResponseWriter, req *Request, deliver func() string, ok func(id string)) {
	fault := f.nextFault()
	if fault == nil {
		if id := deliver(); id != "" {
			req.Delivered, req.MessageID = true, id
			ok(id)
		}
		return
	}
	if fault.Delivered {
		if id := deliver(); id != "" {
			req.Delivered, req.MessageID = true, id
		}
	}
	f.fail(w, *fault)
}

// nextFault takes the next queued fault, or nil.
func (f *Fake) nextFault() *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.faults) == 0 {
		return nil
	}
	fault := f.faults[0]
	f.faults = f.faults[1:]
	return &fault
}

// fail answers with a fault: no answer at all, or the documented error.
func (f *Fake) fail(w http.ResponseWriter, fault Fault) {
	if fault.Hangup {
		hangup(w)
		return
	}
	e := f.errorBody(fault)
	if fault.RetryAfter > 0 && f.Type != channels.Telegram {
		w.Header().Set("Retry-After", fmt.Sprint(fault.RetryAfter))
	}
	writeJSON(w, e.status, e.body)
}

// hangup closes the connection with no answer.
func hangup(w http.ResponseWriter) {
	if rec, ok := w.(*recorder); ok {
		w = rec.ResponseWriter
	}
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close() // the point is to hang up; how it went does not matter
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// nextID numbers the fake's messages.
func (f *Fake) nextID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return f.seq
}

func (f *Fake) file(id string) (file, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.files[id]
	return fl, ok
}

func (f *Fake) profile(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.profiles[id]
	return n, ok
}

// serveFile writes a stored file with its type.
func serveFile(w http.ResponseWriter, fl file) {
	if fl.mime != "" {
		w.Header().Set("Content-Type", fl.mime)
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(fl.data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(fl.data)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// bearer says whether the request carries the channel's access token.
func (f *Fake) bearer(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer "+f.Secrets.AccessToken
}

// errorAnswer is a documented error: status and body.
type errorAnswer struct {
	status int
	body   any
}

// errorBody is the provider's documented answer for a fault, or nil where
// the provider has no such error.
func (f *Fake) errorBody(fault Fault) *errorAnswer {
	switch f.Type {
	case channels.Telegram:
		return telegramError(fault)
	case channels.WhatsApp:
		return whatsAppError(fault)
	case channels.LINE:
		return lineError(fault)
	default:
		return metaError(f.Type, fault)
	}
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// obj returns the object at key in m, or nil.
func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}
