package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"jabberdesk/store"
	"jabberdesk/uploads"
)

type uploadFixture struct {
	st   *store.Store
	up   *uploads.Store
	srv  *Server
	ts   *httptest.Server
	root string // the data directory: the database and uploads/
	dir  string // the upload directory
}

func newUploadFixture(t *testing.T) *uploadFixture {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	st, err := store.Open(filepath.Join(root, "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: "fiona.b", Email: "fiona@acme.example", Password: "password1"}, "test"); err != nil {
		t.Fatal(err)
	}
	f := &uploadFixture{st: st, root: root, dir: filepath.Join(root, "uploads")}
	f.up = uploads.New(uploads.Config{Dir: f.dir, Store: st, Limits: store.UploadLimits{MaxFileSize: 1 << 20}, Logger: slog.New(slog.DiscardHandler)})
	f.srv = New(Config{Store: st, Logger: slog.New(slog.DiscardHandler), Uploads: f.up})
	f.ts = httptest.NewServer(f.srv)
	f.up.SetBaseURL(f.ts.URL)
	t.Cleanup(f.ts.Close)
	return f
}

func (f *uploadFixture) slot(t *testing.T, name string, size int64, ct string, ttl time.Duration) (store.UploadSlot, string) {
	t.Helper()
	lim := f.up.Limits()
	lim.SlotTTL = ttl
	slot, err := f.st.CreateUploadSlot(context.Background(), "acme", "fiona.b", name, size, ct, lim)
	if err != nil {
		t.Fatal(err)
	}
	return slot, uploads.SlotURL(f.ts.URL, slot.ID, slot.Filename)
}

// do sends a request; ct "" sends no Content-Type, length < 0 sends the
// body chunked (no Content-Length).
func do(t *testing.T, method, u, ct string, body []byte, length int64) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		if length < 0 {
			rd = io.MultiReader(rd) // hides the length
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// wantStatus checks the status and, for errors, that the JSON message
// contains msg.
func wantStatus(t *testing.T, resp *http.Response, status int, msg string) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, b)
	}
	if msg != "" {
		var e struct{ Error apiError }
		if err := json.Unmarshal(b, &e); err != nil || !strings.Contains(e.Error.Msg, msg) {
			t.Fatalf("%s %s: body %s, want an error containing %q", resp.Request.Method, resp.Request.URL, b, msg)
		}
	}
	return b
}

// files lists the upload directory.
func (f *uploadFixture) files(t *testing.T) []string {
	t.Helper()
	return listDir(t, f.dir)
}

// listDir lists a directory that may not exist yet.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestUploadRoundTrip(t *testing.T) {
	f := newUploadFixture(t)
	data := bytes.Repeat([]byte("\x89PNG\r\n\x1a\n"), 100)
	slot, u := f.slot(t, "my photo #1.png", int64(len(data)), "image/png", 0)
	if want := f.ts.URL + "/upload/" + slot.ID + "/my%20photo%20%231.png"; u != want {
		t.Fatalf("UploadURL = %s, want %s", u, want)
	}

	wantStatus(t, do(t, "GET", u, "", nil, 0), http.StatusNotFound, "no file has been uploaded")
	wantStatus(t, do(t, "PUT", u, "image/png", data, 0), http.StatusCreated, "")
	if got := f.files(t); len(got) != 1 || got[0] != slot.ID {
		t.Fatalf("upload directory holds %q, want just %s", got, slot.ID)
	}
	fi, err := os.Stat(filepath.Join(f.dir, slot.ID))
	if err != nil || fi.Mode().Perm() != 0o640 || fi.Size() != int64(len(data)) {
		t.Fatalf("stored file: %v %v", fi, err)
	}
	if got, _ := f.st.UploadSlot(context.Background(), slot.ID); got.UploadedAt == nil {
		t.Fatal("slot not marked uploaded")
	}

	resp := do(t, "GET", u, "", nil, 0)
	body := wantStatus(t, resp, http.StatusOK, "")
	if !bytes.Equal(body, data) {
		t.Fatalf("GET returned %d bytes, not the %d uploaded", len(body), len(data))
	}
	for k, v := range map[string]string{
		"Content-Type":            "image/png",
		"Content-Length":          "800",
		"Content-Disposition":     `inline; filename="my photo #1.png"`,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Cache-Control":           "public, max-age=31536000, immutable",
		"ETag":                    `"` + slot.ID + `"`,
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}

	// HEAD: the same headers, no body.
	resp = do(t, "HEAD", u, "", nil, 0)
	if body := wantStatus(t, resp, http.StatusOK, ""); len(body) != 0 {
		t.Fatalf("HEAD returned a body of %d bytes", len(body))
	}
	if resp.Header.Get("Content-Length") != "800" || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("HEAD headers %v", resp.Header)
	}

	// A range, and a conditional GET.
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Range", "bytes=0-3")
	resp, _ = http.DefaultClient.Do(req)
	if body := wantStatus(t, resp, http.StatusPartialContent, ""); string(body) != "\x89PNG" {
		t.Fatalf("range: %q", body)
	}
	req, _ = http.NewRequest("GET", u, nil)
	req.Header.Set("If-None-Match", `"`+slot.ID+`"`)
	resp, _ = http.DefaultClient.Do(req)
	wantStatus(t, resp, http.StatusNotModified, "")

	// A second PUT is refused and changes nothing.
	wantStatus(t, do(t, "PUT", u, "image/png", bytes.Repeat([]byte("x"), len(data)), 0), http.StatusConflict, "already been uploaded")
	if body := wantStatus(t, do(t, "GET", u, "", nil, 0), http.StatusOK, ""); !bytes.Equal(body, data) {
		t.Fatal("the second PUT changed the file")
	}
}

func TestUploadDispositionAndTypes(t *testing.T) {
	f := newUploadFixture(t)
	for _, tc := range []struct{ name, ct, putCT, disposition string }{
		{"Rechnung März.pdf", "application/pdf", "application/pdf", `attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf`},
		{"page.html", "text/html", "text/html; charset=utf-8", `attachment; filename=page.html`},
		{"logo.svg", "image/svg+xml", "image/svg+xml", `attachment; filename=logo.svg`},
		{"notes.txt", "text/plain; charset=utf-8", "text/plain", `attachment; filename=notes.txt`},
		{"blob", "", "", `attachment; filename=blob`}, // no type: application/octet-stream
		{"blob2", "", "application/octet-stream", `attachment; filename=blob2`},
		{"a.JPG", "image/jpeg", "IMAGE/JPEG", `inline; filename=a.JPG`},
	} {
		data := []byte("<script>alert(1)</script>")
		slot, u := f.slot(t, tc.name, int64(len(data)), tc.ct, 0)
		wantStatus(t, do(t, "PUT", u, tc.putCT, data, 0), http.StatusCreated, "")
		resp := do(t, "GET", u, "", nil, 0)
		wantStatus(t, resp, http.StatusOK, "")
		if got := resp.Header.Get("Content-Disposition"); got != tc.disposition {
			t.Errorf("%s: Content-Disposition %q, want %q", tc.name, got, tc.disposition)
		}
		if got := resp.Header.Get("Content-Type"); got != slot.ContentType {
			t.Errorf("%s: Content-Type %q, want %q", tc.name, got, slot.ContentType)
		}
	}
}

func TestUploadRefusals(t *testing.T) {
	f := newUploadFixture(t)
	data := []byte("%PDF-1.7 ...")
	slot, u := f.slot(t, "a.pdf", int64(len(data)), "application/pdf", 0)

	wantStatus(t, do(t, "PUT", u, "application/pdf", append(data, 'x'), 0), http.StatusBadRequest,
		"Content-Length is 13 but the slot was requested for a file of 12 bytes")
	wantStatus(t, do(t, "PUT", u, "application/pdf", data[1:], 0), http.StatusBadRequest, "must be equal")
	wantStatus(t, do(t, "PUT", u, "application/pdf", data, -1), http.StatusBadRequest, "no Content-Length")
	wantStatus(t, do(t, "PUT", u, "image/png", data, 0), http.StatusBadRequest,
		`Content-Type is "image/png" but the slot was requested for "application/pdf"`)
	wantStatus(t, do(t, "PUT", u, "", data, 0), http.StatusBadRequest, `Content-Type is "application/octet-stream"`)

	// Unknown slots, and known ones under another file name.
	other := "abcdefghijklmnopqrstuvwxyz234567"
	for _, bad := range []string{
		uploads.SlotURL(f.ts.URL, other, "a.pdf"),
		uploads.SlotURL(f.ts.URL, "nope", "a.pdf"),
		uploads.SlotURL(f.ts.URL, strings.ToUpper(slot.ID), "a.pdf"),
		uploads.SlotURL(f.ts.URL, slot.ID, "b.pdf"),
		uploads.SlotURL(f.ts.URL, slot.ID, "A.pdf"),
	} {
		wantStatus(t, do(t, "PUT", bad, "application/pdf", data, 0), http.StatusNotFound, "there is no file at this address")
		wantStatus(t, do(t, "GET", bad, "", nil, 0), http.StatusNotFound, "there is no file at this address")
	}
	if got := f.files(t); len(got) != 0 {
		t.Fatalf("refused uploads left files: %q", got)
	}
	// After all that, the right PUT still works.
	wantStatus(t, do(t, "PUT", u, "application/pdf", data, 0), http.StatusCreated, "")
}

func TestUploadExpiredSlot(t *testing.T) {
	f := newUploadFixture(t)
	data := []byte("hello")
	slot, u := f.slot(t, "a.txt", int64(len(data)), "text/plain", 20*time.Millisecond)
	for time.Now().Before(slot.ExpiresAt) {
		time.Sleep(5 * time.Millisecond)
	}
	wantStatus(t, do(t, "PUT", u, "text/plain", data, 0), http.StatusGone, "expired")
	wantStatus(t, do(t, "GET", u, "", nil, 0), http.StatusNotFound, "")
	if got := f.files(t); len(got) != 0 {
		t.Fatalf("expired upload left files: %q", got)
	}
	// An uploaded file outlives its slot's expiry.
	slot, u = f.slot(t, "b.txt", int64(len(data)), "text/plain", 50*time.Millisecond)
	wantStatus(t, do(t, "PUT", u, "text/plain", data, 0), http.StatusCreated, "")
	for time.Now().Before(slot.ExpiresAt) {
		time.Sleep(5 * time.Millisecond)
	}
	wantStatus(t, do(t, "GET", u, "", nil, 0), http.StatusOK, "")
	wantStatus(t, do(t, "PUT", u, "text/plain", data, 0), http.StatusConflict, "")
}

// TestUploadCannotEscape tries file names and paths with "../" in every
// form: nothing is ever written outside the upload directory, and the
// upload directory only ever holds files named by slot ids.
func TestUploadCannotEscape(t *testing.T) {
	f := newUploadFixture(t)
	before := tree(t, f.root)
	data := []byte("pwned")
	slot, u := f.slot(t, "../../evil.sh", int64(len(data)), "text/x-sh", 0)
	if slot.Filename != "_.._evil.sh" {
		t.Fatalf("file name %q", slot.Filename)
	}
	for _, p := range []string{
		"/upload/" + slot.ID + "/..%2F..%2Fevil.sh",
		"/upload/" + slot.ID + "/%2E%2E%2F%2E%2E%2Fevil.sh",
		"/upload/" + slot.ID + "/..%5C..%5Cevil.sh",
		"/upload/..%2F..%2F" + slot.ID + "/_.._evil.sh",
		"/upload/%2E%2E/_.._evil.sh",
		"/upload/" + slot.ID + "/../../evil.sh",
		"/upload/../../" + slot.ID + "/_.._evil.sh",
	} {
		resp := do(t, "PUT", f.ts.URL+p, "text/x-sh", data, 0)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("PUT %s: status %d", p, resp.StatusCode)
		}
	}
	wantStatus(t, do(t, "PUT", u, "text/x-sh", data, 0), http.StatusCreated, "")
	after := tree(t, f.root)
	var added []string
	for p := range after {
		if !before[p] {
			added = append(added, p)
		}
	}
	sort.Strings(added)
	want := []string{"uploads", filepath.Join("uploads", slot.ID)}
	if strings.Join(added, " ") != strings.Join(want, " ") {
		t.Fatalf("new files %q, want %q", added, want)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.root), "evil.sh")); !os.IsNotExist(err) {
		t.Fatalf("evil.sh escaped: %v", err)
	}
	resp := do(t, "GET", u, "", nil, 0)
	if body := wantStatus(t, resp, http.StatusOK, ""); string(body) != "pwned" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=_.._evil.sh` {
		t.Fatalf("GET: %q %v", body, resp.Header)
	}
}

// tree lists the files under root (database files aside, which come and
// go), relative to it.
func tree(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root || strings.HasPrefix(d.Name(), "jd.db") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUploadConcurrentPut: while one PUT is being received, another to the
// same slot is refused, and the first completes.
func TestUploadConcurrentPut(t *testing.T) {
	f := newUploadFixture(t)
	data := bytes.Repeat([]byte("ab"), 50)
	slot, u := f.slot(t, "a.bin", int64(len(data)), "application/octet-stream", 0)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", u, pr)
	req.ContentLength = int64(len(data))
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(done)
			return
		}
		done <- resp
	}()
	pw.Write(data[:10])
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := f.srv.uploading.Load(slot.ID); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first PUT never started")
		}
		time.Sleep(time.Millisecond)
	}
	wantStatus(t, do(t, "PUT", u, "application/octet-stream", data, 0), http.StatusConflict, "being uploaded")
	pw.Write(data[10:])
	pw.Close()
	if resp := <-done; resp != nil {
		wantStatus(t, resp, http.StatusCreated, "")
	}
	if body := wantStatus(t, do(t, "GET", u, "", nil, 0), http.StatusOK, ""); !bytes.Equal(body, data) {
		t.Fatal("wrong content")
	}
	// A PUT cut off half way leaves nothing behind and can be retried.
	slot, u = f.slot(t, "b.bin", int64(len(data)), "application/octet-stream", 0)
	pr, pw = io.Pipe()
	req, _ = http.NewRequest("PUT", u, pr)
	req.ContentLength = int64(len(data))
	go func() {
		pw.Write(data[:10])
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("cut-off PUT: status %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		_, busy := f.srv.uploading.Load(slot.ID)
		if !busy && len(f.files(t)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cut-off PUT left %q", f.files(t))
		}
	}
	wantStatus(t, do(t, "GET", u, "", nil, 0), http.StatusNotFound, "")
	// The server may not have seen the cut-off PUT yet when its client gave
	// up: a retry is refused while that one still runs, then succeeds.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		resp := do(t, "PUT", u, "application/octet-stream", data, 0)
		if resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			wantStatus(t, resp, http.StatusCreated, "")
			break
		}
		wantStatus(t, resp, http.StatusConflict, "being uploaded")
	}
}

func TestUploadURL(t *testing.T) {
	for _, tc := range []struct{ base, name, want string }{
		{"https://chat.example.com", "a.png", "https://chat.example.com/upload/ID/a.png"},
		{"https://chat.example.com/", "a b?c#d%e.png", "https://chat.example.com/upload/ID/a%20b%3Fc%23d%25e.png"},
		{"https://example.com/desk/", "résumé.pdf", "https://example.com/desk/upload/ID/r%C3%A9sum%C3%A9.pdf"},
	} {
		got := uploads.SlotURL(tc.base, "ID", tc.name)
		if got != tc.want {
			t.Errorf("SlotURL(%q, %q) = %q, want %q", tc.base, tc.name, got, tc.want)
		}
		u, err := url.Parse(got)
		if err != nil || !strings.HasSuffix(u.Path, "/"+tc.name) {
			t.Errorf("%s does not parse back to %q: %v %v", got, tc.name, u, err)
		}
	}
	if s := New(Config{Logger: slog.New(slog.DiscardHandler)}); s.UploadEnabled() {
		t.Error("uploads enabled without an upload store")
	}
	if lim := uploads.New(uploads.Config{}).Limits(); lim.MaxFileSize != store.DefaultUploadMaxFileSize || lim.SlotTTL != store.DefaultUploadSlotTTL {
		t.Errorf("default limits %+v", lim)
	}
}

func TestUploadDisabled(t *testing.T) {
	f := newUploadFixture(t)
	srv := New(Config{Store: f.st, Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	slot, _ := f.slot(t, "a.txt", 1, "text/plain", 0)
	wantStatus(t, do(t, "PUT", uploads.SlotURL(ts.URL, slot.ID, slot.Filename), "text/plain", []byte("x"), 0), http.StatusNotFound, "not enabled")
}

// A full disk is the server's problem, and said so: 507, not a 400 that
// blames the client, and no partial file is left behind.
func TestUploadDiskFull(t *testing.T) {
	f := newUploadFixture(t)
	if err := os.MkdirAll(f.dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// A real full disk: a 64 KiB tmpfs (needs the right to mount, as
	// root in CI has).
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", f.dir).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: cannot mount a small tmpfs to fill (%v: %s); the status mapping is tested by TestStorageErrorStatus", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", f.dir).Run() })
	data := bytes.Repeat([]byte("x"), 900<<10)
	_, u := f.slot(t, "big.bin", int64(len(data)), "application/octet-stream", time.Hour)
	res := do(t, "PUT", u, "application/octet-stream", data, int64(len(data)))
	body := wantStatus(t, res, http.StatusInsufficientStorage, "out of disk space")
	if res.Header.Get("Retry-After") == "" {
		t.Errorf("507 without Retry-After: %s", body)
	}
	if files := f.files(t); len(files) != 0 {
		t.Fatalf("left behind: %v", files)
	}
}

func TestStorageErrorStatus(t *testing.T) {
	full := &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}
	var ae *apiError
	if err := storageError(full); !errors.As(err, &ae) || ae.status != http.StatusInsufficientStorage {
		t.Fatalf("ENOSPC: %v", err)
	}
	if err := storageError(&os.PathError{Op: "write", Path: "/x", Err: syscall.EIO}); errors.As(err, &ae) {
		t.Fatalf("EIO answered as %d, want an internal error", ae.status)
	}
}

// A visitor message that the database cannot keep because the disk is
// full is answered 507 with Retry-After, not 500, and is not half kept:
// once there is room again, the next message goes through.
func TestVisitorMessageDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: cannot mount a small tmpfs to fill (%v: %s); the status mapping is tested by TestStorageFullStatus", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	f := newAPIFixtureIn(t, dir, Limits{RequestRate: 1e6, RequestBurst: 1e6, MessageRate: 1e6, MessageBurst: 1e6})
	id, token := f.chat(t)
	filler := filepath.Join(dir, "filler")
	fill, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for { // leave no room at all
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	text := strings.Repeat("x", 3000)
	var full *http.Response
	for i := 0; i < 10000 && full == nil; i++ {
		res := f.post(t, "/api/v1/chats/"+id+"/messages", token, `{"text":"`+text+`"}`)
		if res.StatusCode != http.StatusAccepted {
			full = res
		} else {
			res.Body.Close()
		}
	}
	if full == nil {
		t.Fatal("the disk never filled")
	}
	body := wantStatus(t, full, http.StatusInsufficientStorage, "out of disk space")
	if full.Header.Get("Retry-After") == "" {
		t.Errorf("507 without Retry-After: %s", body)
	}
	os.Remove(filler)
	res := f.post(t, "/api/v1/chats/"+id+"/messages", token, `{"text":"room again"}`)
	wantStatus(t, res, http.StatusAccepted, "")
}

func TestStorageFullStatus(t *testing.T) {
	err := fmt.Errorf("bridge: store chat event: %w", fmt.Errorf("%w: database or disk is full", store.ErrStorageFull))
	rec := httptest.NewRecorder()
	srv := New(Config{Logger: slog.New(slog.DiscardHandler)})
	srv.writeError(rec, httptest.NewRequest("POST", "/api/v1/chats/x/messages", nil), err)
	if rec.Code != http.StatusInsufficientStorage || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "server_out_of_space") {
		t.Errorf("storage full answered %d %q", rec.Code, rec.Body.String())
	}
}
