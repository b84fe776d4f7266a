package uploads

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"jabberdesk/store"
)

// pngHead is the start of a PNG file, enough for sniffing.
var pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00")

func newTestStore(t *testing.T, lim store.UploadLimits) (*Store, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(Config{Dir: filepath.Join(t.TempDir(), "uploads"), Store: st, Limits: lim})
	s.SetBaseURL("https://chat.example.com/")
	return s, st
}

func TestKeepTypesByContent(t *testing.T) {
	s, _ := newTestStore(t, store.UploadLimits{MaxFileSize: 1024})
	for _, tc := range []struct {
		name, claim string
		data        []byte
		want        string // the type kept, or the start of the refusal
	}{
		{"shot.png", "image/png", pngHead, "image/png"},
		{"", "", pngHead, "image/png"},                   // a photo without a name
		{"shot.jpg", "image/jpeg", pngHead, "image/png"}, // the content, not the claim
		{"notes.txt", "text/plain", []byte("hello\n"), "text/plain; charset=utf-8"},
		{"list.csv", "text/csv", []byte("a,b\n1,2\n"), "text/csv; charset=utf-8"},
		{"doc.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", []byte("PK\x03\x04rest"),
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"voice.ogg", "audio/ogg; codecs=opus", []byte("OggS\x00\x02rest"), "audio/ogg"},
		{"data.bin", "", []byte{0, 1, 2, 3}, "application/octet-stream"},
		{"fake.png", "image/png", []byte("just text"), "text/plain; charset=utf-8"}, // text claims no image
		{"page.html", "text/html", []byte("<!DOCTYPE html><script>alert(1)</script>"), "web pages and SVG"},
		{"x.txt", "text/plain", []byte("  <html><body>hi"), "web pages and SVG"},
		{"pic.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "web pages and SVG"},
		{"pic.png", "image/png", []byte(`<?xml version="1.0"?><svg/>`), "web pages and SVG"},
		{"a.txt", "text/plain", []byte("<svg onload=alert(1)>"), "web pages and SVG"},
		{"hello.txt", "text/html", []byte("hello"), "web pages and SVG"},
		{"setup.exe", "application/octet-stream", []byte("MZ\x90\x00"), "programs and scripts"},
		{"tool", "", []byte("\x7fELF\x02\x01"), "programs and scripts"},
		{"run.txt", "text/plain", []byte("#!/bin/sh\nrm -rf /\n"), "programs and scripts"},
		{"ok.png", "application/x-msdownload", pngHead, "programs and scripts"},
		{"script.js", "", []byte("alert(1)"), "programs and scripts"},
		{"big.bin", "", bytes.Repeat([]byte{0}, 1025), "the file is larger than the 1 KB"},
	} {
		f, err := s.Keep(tc.name, tc.claim, bytes.NewReader(tc.data))
		var r *Refusal
		switch {
		case errors.As(err, &r):
			if !strings.HasPrefix(r.Msg, tc.want) || r.TooLarge != (tc.name == "big.bin") {
				t.Errorf("%s: refused %q (too large %v), want %q", tc.name, r.Msg, r.TooLarge, tc.want)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case f.MIME != tc.want:
			t.Errorf("%s: kept as %q, want %q", tc.name, f.MIME, tc.want)
		default:
			got, err := os.ReadFile(s.path(f.ID))
			if err != nil || !bytes.Equal(got, tc.data) || f.Size != int64(len(tc.data)) || f.Name == "" {
				t.Errorf("%s: on disk %q %v, kept %+v", tc.name, got, err, f)
			}
		}
	}
	if f, err := s.Keep("", "", bytes.NewReader(pngHead)); err != nil || f.Name != "file.png" {
		t.Errorf("a nameless photo is %+v %v", f, err)
	}
	left, _ := filepath.Glob(filepath.Join(s.dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

func TestKeepLimits(t *testing.T) {
	s, _ := newTestStore(t, store.UploadLimits{AllowedTypes: []string{"image/*"}})
	if _, err := s.Keep("a.txt", "text/plain", strings.NewReader("hi")); err == nil || !strings.Contains(err.Error(), "text/plain are not accepted here; allowed: image/*") {
		t.Errorf("a type that is not allowed: %v", err)
	}
	_, err := s.Keep("a.png", "image/png", io.MultiReader(bytes.NewReader(pngHead), iotest.ErrReader(errors.New("connection reset"))))
	if !errors.Is(err, ErrIncomplete) {
		t.Errorf("a source that fails: %v", err)
	}
	var nothing *Store
	if _, err := nothing.Keep("a.png", "", bytes.NewReader(pngHead)); err == nil {
		t.Error("a store that is off kept a file")
	}
}

// An address is found only when it is this store's, names an uploaded
// slot and the slot's own file name.
func TestFind(t *testing.T) {
	s, st := newTestStore(t, store.UploadLimits{})
	ctx := context.Background()
	if _, err := st.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	chat, err := st.CreateChat(ctx, store.NewChat{Portal: "acme", PublicID: "p1", TokenHash: make([]byte, 32), Name: "Ann", Question: "?"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Keep("my photo.png", "image/png", bytes.NewReader(pngHead))
	if err == nil {
		f, err = st.AddChatFile(ctx, chat.ID, f, -1)
	}
	if err != nil {
		t.Fatal(err)
	}
	u := s.URL(f.ID, f.Name)
	if want := "https://chat.example.com/upload/" + f.ID + "/my%20photo.png"; u != want {
		t.Fatalf("URL %s, want %s", u, want)
	}
	if slot, ok := s.Find(ctx, " "+u+"\n"); !ok || slot.ID != f.ID || slot.ContentType != "image/png" {
		t.Errorf("Find(%s) = %+v %v", u, slot, ok)
	}
	for _, other := range []string{
		"https://evil.example/upload/" + f.ID + "/my%20photo.png",
		"https://chat.example.com/upload/" + f.ID + "/other.png",
		"https://chat.example.com/upload/" + strings.ToUpper(f.ID) + "/my%20photo.png",
		"https://chat.example.com/upload/" + store.NewUploadSlotID() + "/my%20photo.png",
		"https://chat.example.com/upload/" + f.ID,
		u + " and more",
		"look: " + u,
	} {
		if _, ok := s.Find(ctx, other); ok {
			t.Errorf("Find(%q) found a file", other)
		}
	}
	if err := s.Discard(f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(f.ID); !os.IsNotExist(err) {
		t.Errorf("discarded file: %v", err)
	}
	if _, err := s.Open("../jd.db"); !os.IsNotExist(err) {
		t.Errorf("a path that is no slot id: %v", err)
	}
}

func TestWrite(t *testing.T) {
	s, _ := newTestStore(t, store.UploadLimits{})
	id := store.NewUploadSlotID()
	if err := s.Write(id, strings.NewReader("abc"), 4); !errors.Is(err, ErrIncomplete) {
		t.Errorf("short: %v", err)
	}
	if _, err := s.Open(id); !os.IsNotExist(err) {
		t.Errorf("a short file was kept: %v", err)
	}
	if err := s.Write(id, strings.NewReader("abcd"), 4); err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "abcd" {
		t.Errorf("read %q", b)
	}
}
