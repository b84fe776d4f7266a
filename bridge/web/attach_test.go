package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"jabberdesk/bridge"
	"jabberdesk/store"
	"jabberdesk/uploads"
)

// attachFixture is the visitor API with an upload store of files up to
// 64 KiB, and a chat fiona.b accepted.
type attachFixture struct {
	*apiFixture
	dir       string // the upload directory
	id, token string
}

func newAttachFixture(t *testing.T, lim Limits) *attachFixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "uploads")
	var up *uploads.Store
	f := newAPIFixture(t, lim, func(c *Config) {
		up = uploads.New(uploads.Config{Dir: dir, Store: c.Store, Limits: store.UploadLimits{MaxFileSize: 64 << 10, QuotaPerAgent: 100 << 10}})
		c.Uploads = up
	})
	up.SetBaseURL(f.base)
	id, token := f.chat(t)
	return &attachFixture{apiFixture: f, dir: dir, id: id, token: token}
}

// attach posts a file; length < 0 sends it chunked.
func (f *attachFixture) attach(t *testing.T, token, name, ct string, data []byte, length int64) *http.Response {
	t.Helper()
	var body io.Reader = bytes.NewReader(data)
	if length < 0 {
		body = io.MultiReader(body) // hides the length
	}
	return f.send(t, "/api/v1/chats/"+f.id+"/files?name="+url.QueryEscape(name)+"&client_id=c1", token, ct, body)
}

// kept lists the files in the upload directory.
func (f *attachFixture) kept(t *testing.T) []string { return listDir(t, f.dir) }

var screenshot = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{1}, 20<<10)...)

// A visitor's screenshot, larger than a JSON body may be, is kept,
// served from its address, and reaches the agent with the file.
func TestAttachAFile(t *testing.T) {
	f := newAttachFixture(t, Limits{})
	res := f.attach(t, f.token, "screen shot.png", "image/png", screenshot, 0)
	var got attachedFile
	if err := json.Unmarshal(expectStatus(t, res, http.StatusAccepted, "attach"), &got); err != nil {
		t.Fatal(err)
	}
	if got.File.Name != "screen shot.png" || got.File.MIME != "image/png" || !strings.HasPrefix(got.File.URL, f.base+"/upload/") {
		t.Fatalf("answer %+v", got)
	}
	res, err := http.Get(got.File.URL)
	if err != nil {
		t.Fatal(err)
	}
	served := expectStatus(t, res, http.StatusOK, "GET the file")
	if !bytes.Equal(served, screenshot) || res.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
		t.Errorf("served %d bytes as %s, %s", len(served), res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	f.agents.mu.Lock()
	msgs := append([]bridge.Message(nil), f.agents.messages...)
	f.agents.mu.Unlock()
	if len(msgs) != 1 || msgs[0].Body != got.File.URL || msgs[0].Attachment == nil || *msgs[0].Attachment != got.File {
		t.Errorf("the agent got %+v", msgs)
	}
	res, err = http.Get(f.base + "/api/v1/chats/" + f.id + "/events?token=" + f.token)
	if err != nil {
		t.Fatal(err)
	}
	var evs struct{ Events []bridge.Event }
	if err := json.Unmarshal(expectStatus(t, res, http.StatusOK, "events"), &evs); err != nil {
		t.Fatal(err)
	}
	last := evs.Events[len(evs.Events)-1]
	if last.Type != "visitor_message" || len(last.Files) != 1 || last.Files[0] != got.File || last.ClientID != "c1" ||
		last.Text != "Image: screen shot.png "+got.File.URL {
		t.Errorf("the visitor's event %+v", last)
	}
}

// What may not be attached is refused before anything is kept: no token,
// a type that could run, too large however it is sent, over the chat's
// quota, too many at once, or while the agent is not keeping up.
func TestAttachRefusals(t *testing.T) {
	f := newAttachFixture(t, Limits{})
	expectStatus(t, f.attach(t, "", "a.png", "image/png", screenshot, 0), http.StatusUnauthorized, "no token")
	expectStatus(t, f.attach(t, "wrong", "a.png", "image/png", screenshot, 0), http.StatusUnauthorized, "wrong token")
	for _, bad := range []struct{ name, ct, data string }{
		{"page.html", "text/html", "<!doctype html><script>alert(1)</script>"},
		{"pic.svg", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`},
		{"setup.exe", "application/octet-stream", "MZ\x90\x00\x03"},
	} {
		res := f.attach(t, f.token, bad.name, bad.ct, []byte(bad.data), 0)
		if body := expectStatus(t, res, http.StatusUnsupportedMediaType, bad.name); !strings.Contains(string(body), "unsupported_type") {
			t.Errorf("%s: %s", bad.name, body)
		}
	}
	big := bytes.Repeat([]byte{0}, 64<<10+1)
	expectStatus(t, f.attach(t, f.token, "big.bin", "", big, 0), http.StatusRequestEntityTooLarge, "too large")
	expectStatus(t, f.attach(t, f.token, "big.bin", "", big, -1), http.StatusRequestEntityTooLarge, "too large, chunked")
	if left := f.kept(t); len(left) != 0 {
		t.Errorf("refused files left %q", left)
	}

	// Three messages at once: the next waits.
	g := newAttachFixture(t, Limits{MessageRate: 0.001, MessageBurst: 3})
	for range 2 {
		expectStatus(t, g.attach(t, g.token, "a.png", "image/png", screenshot, 0), http.StatusAccepted, "within the rate")
	}
	expectStatus(t, g.post(t, "/api/v1/chats/"+g.id+"/messages", g.token, `{"text":"hi"}`), http.StatusAccepted, "a message")
	expectStatus(t, g.attach(t, g.token, "a.png", "image/png", screenshot, 0), http.StatusTooManyRequests, "over the rate")

	// The chat's quota (100 KiB) takes four screenshots of 20 KiB, not six.
	h := newAttachFixture(t, Limits{})
	codes := []int{}
	for range 6 {
		res := h.attach(t, h.token, "a.png", "image/png", screenshot, 0)
		codes = append(codes, res.StatusCode)
		res.Body.Close()
	}
	if codes[3] != http.StatusAccepted || codes[5] != http.StatusRequestEntityTooLarge || len(h.kept(t)) > 5 {
		t.Errorf("quota: %v, %d files kept", codes, len(h.kept(t)))
	}

	h.agents.setBusy(true)
	expectStatus(t, h.post(t, "/api/v1/chats/"+h.id+"/end", h.token, ""), http.StatusOK, "end")
	expectStatus(t, h.attach(t, h.token, "a.png", "image/png", screenshot, 0), http.StatusConflict, "after the end")
}

// An agent who is not keeping up holds a file back like a message, and
// a server without an upload store takes none.
func TestAttachBusyAndOff(t *testing.T) {
	f := newAttachFixture(t, Limits{})
	f.agents.setBusy(true)
	res := f.attach(t, f.token, "a.png", "image/png", screenshot, 0)
	if body := expectStatus(t, res, http.StatusTooManyRequests, "busy"); !strings.Contains(string(body), "agent_busy") {
		t.Errorf("busy: %s", body)
	}
	if left := f.kept(t); len(left) != 0 {
		t.Errorf("kept while busy: %q", left)
	}
	g := newAPIFixture(t, Limits{})
	id, token := g.chat(t)
	expectStatus(t, g.send(t, "/api/v1/chats/"+id+"/files?name=a.png", token, "image/png", bytes.NewReader(screenshot)), http.StatusNotFound, "no upload store")
}
