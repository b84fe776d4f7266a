package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"jabberdesk/store"
)

// HTTP File Upload (XEP-0363), the HTTP half: the XMPP server hands an
// agent a slot (store.CreateUploadSlot) with the URL UploadURL builds; the
// agent's client PUTs the file there once, and anyone with the URL GETs
// it. The random slot id is the only secret (XEP-0363 §8) and the only
// name used on disk: files live in Config.UploadDir, one per slot, named
// by the id; the file name in the URL is checked against the slot and
// never touches the file system.

func (s *Server) uploadRoutes() {
	s.mux.HandleFunc("PUT /upload/{id}/{filename}", s.putUpload)
	s.mux.HandleFunc("GET /upload/{id}/{filename}", s.getUpload) // and HEAD
}

// UploadURL is the PUT and GET URL of a slot, where base is the public URL
// of the HTTP listener (such as https://chat.example.com).
func (s *Server) UploadURL(base, id, filename string) string {
	return strings.TrimRight(base, "/") + "/upload/" + url.PathEscape(id) + "/" + url.PathEscape(filename)
}

// UploadEnabled reports whether the listener accepts uploads (an upload
// directory is configured).
func (s *Server) UploadEnabled() bool { return s.cfg.UploadDir != "" }

// UploadLimits are the configured limits with the defaults filled in, to
// pass to store.CreateUploadSlot and to announce (max-file-size).
func (s *Server) UploadLimits() store.UploadLimits { return s.cfg.UploadLimits.WithDefaults() }

// uploadSlot is the slot the request's URL names: 404 unless the id is a
// slot's and the file name is that slot's.
func (s *Server) uploadSlot(r *http.Request) (store.UploadSlot, error) {
	noFile := fail(http.StatusNotFound, "not_found", "there is no file at this address")
	if !s.UploadEnabled() {
		return store.UploadSlot{}, fail(http.StatusNotFound, "not_found", "file upload is not enabled on this server")
	}
	id := r.PathValue("id")
	if !store.ValidUploadSlotID(id) {
		return store.UploadSlot{}, noFile
	}
	slot, err := s.cfg.Store.UploadSlot(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.UploadSlot{}, noFile
	}
	if err != nil {
		return store.UploadSlot{}, err
	}
	if r.PathValue("filename") != slot.Filename {
		return store.UploadSlot{}, noFile
	}
	return slot, nil
}

// putUpload stores the file of a slot (XEP-0363 §6).
func (s *Server) putUpload(w http.ResponseWriter, r *http.Request) {
	slot, err := s.uploadSlot(r)
	if err == nil {
		err = checkPut(r, slot, time.Now())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, busy := s.uploading.LoadOrStore(slot.ID, struct{}{}); busy {
		s.writeError(w, r, fail(http.StatusConflict, "upload_in_progress", "a file is being uploaded to this slot already; request a new slot for another file"))
		return
	}
	defer s.uploading.Delete(slot.ID)
	// Look again now that no other PUT can run: one may have finished
	// between the first look and the claim.
	if slot, err = s.cfg.Store.UploadSlot(r.Context(), slot.ID); err == nil && slot.UploadedAt != nil {
		err = alreadyUploaded()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The file may take longer than a request: as long as it keeps up
	// the minimum rate.
	end := time.Now().Add(s.transferTime(slot.Size))
	setDeadlines(w, end, end)
	if err := s.storeUpload(r, slot); err != nil {
		s.writeError(w, r, err)
		return
	}
	// The file is in place: record it even if the client has gone.
	err = s.cfg.Store.MarkUploaded(context.WithoutCancel(r.Context()), slot.ID, time.Now())
	if errors.Is(err, store.ErrExists) {
		err = alreadyUploaded()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("file uploaded", "portal", slot.Portal, "agent", slot.Agent, "slot", slot.ID, "size", slot.Size, "type", slot.ContentType)
	writeJSON(w, http.StatusCreated, map[string]string{"status": "uploaded"})
}

func alreadyUploaded() error {
	return fail(http.StatusConflict, "already_uploaded", "a file has already been uploaded to this slot; request a new slot for another file")
}

// checkPut checks a PUT against its slot before the body is read.
func checkPut(r *http.Request, slot store.UploadSlot, now time.Time) error {
	if slot.UploadedAt != nil {
		return alreadyUploaded()
	}
	if slot.Expired(now) {
		// 410 Gone rather than 403: the slot did exist, and no request
		// will ever be able to use it again, whatever its credentials;
		// 403 would suggest an authorisation problem. Either way the
		// client has to request a new slot (XEP-0363 §6).
		return fail(http.StatusGone, "slot_expired", fmt.Sprintf("this upload slot expired at %s; request a new slot and upload within its lifetime",
			slot.ExpiresAt.Format(time.RFC3339)))
	}
	if r.ContentLength < 0 {
		return fail(http.StatusBadRequest, "wrong_length", fmt.Sprintf("the request has no Content-Length: send the file with Content-Length: %d, the size given for the slot", slot.Size))
	}
	if r.ContentLength != slot.Size {
		return fail(http.StatusBadRequest, "wrong_length", fmt.Sprintf("Content-Length is %d but the slot was requested for a file of %d bytes; they must be equal", r.ContentLength, slot.Size))
	}
	// XEP-0363 §6: the service may assume application/octet-stream when
	// the client sends no type; a type sent must be the slot's.
	want := mediaType(slot.ContentType)
	got := "application/octet-stream"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			mt = ct
		}
		got = strings.ToLower(mt)
	}
	if got != want {
		return fail(http.StatusBadRequest, "wrong_content_type", fmt.Sprintf("Content-Type is %q but the slot was requested for %q; they must be the same", got, want))
	}
	return nil
}

// mediaType is the lowercased type/subtype of a Content-Type value.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// storeUpload streams the body to a temporary file in the upload directory
// and renames it to the slot's id once it is complete and on disk, so
// that no partial file is ever under the final name.
func (s *Server) storeUpload(r *http.Request, slot store.UploadSlot) (err error) {
	dir := s.cfg.UploadDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return storageError(err)
	}
	tmp, err := os.CreateTemp(dir, "."+slot.ID+".*.part")
	if err != nil {
		return storageError(err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close() // the upload failed: that error is the one to report
			if rerr := os.Remove(tmp.Name()); rerr != nil {
				s.log.Warn("partial upload left behind", "slot", slot.ID, "file", tmp.Name(), "err", rerr)
			}
		}
	}()
	// The server never reads past Content-Length, which is slot.Size.
	dst := &recordingWriter{w: tmp}
	n, err := io.Copy(dst, r.Body)
	if dst.err != nil {
		s.log.Error("upload not stored", "slot", slot.ID, "got", n, "want", slot.Size, "err", dst.err)
		return storageError(dst.err)
	}
	if err != nil || n != slot.Size {
		s.log.Info("upload cut off", "slot", slot.ID, "got", n, "want", slot.Size, "err", err)
		return fail(http.StatusBadRequest, "incomplete", fmt.Sprintf("the upload ended after %d of %d bytes; PUT the whole file again", n, slot.Size))
	}
	for _, step := range []func() error{func() error { return tmp.Chmod(0o640) }, tmp.Sync, tmp.Close,
		func() error { return os.Rename(tmp.Name(), filepath.Join(dir, slot.ID)) }} {
		if err := step(); err != nil {
			return storageError(err)
		}
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		if err := d.Sync(); err != nil {
			s.log.Warn("upload directory not synced: a crash may lose the upload", "slot", slot.ID, "err", err)
		}
		_ = d.Close() // opened to sync only: closing loses nothing
	}
	return nil
}

// getUpload serves an uploaded file (GET and HEAD, with ranges and
// conditional requests). The headers keep an uploaded page or script from
// running on this origin: the stored type with nosniff, a CSP that allows
// nothing and sandboxes the document, and a download for anything but
// plain images.
func (s *Server) getUpload(w http.ResponseWriter, r *http.Request) {
	slot, err := s.uploadSlot(r)
	if err == nil && slot.UploadedAt == nil {
		err = fail(http.StatusNotFound, "not_found", "no file has been uploaded to this address yet")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := os.Open(filepath.Join(s.cfg.UploadDir, slot.ID))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			s.log.Warn("uploaded file is missing", "slot", slot.ID, "dir", s.cfg.UploadDir)
			err = fail(http.StatusNotFound, "not_found", "this file is no longer available")
		}
		s.writeError(w, r, err)
		return
	}
	defer func() { _ = f.Close() }() // read only: closing loses nothing
	end := time.Now().Add(s.transferTime(slot.Size))
	setDeadlines(w, end, end)
	h := w.Header()
	h.Set("Content-Type", slot.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "public, max-age=31536000, immutable") // a slot's file never changes
	h.Set("ETag", `"`+slot.ID+`"`)
	h.Set("Content-Disposition", contentDisposition(slot))
	http.ServeContent(w, r, "", *slot.UploadedAt, f)
}

// contentDisposition shows images in the browser and downloads the rest.
// SVG is a document that can carry scripts, so it is downloaded too.
func contentDisposition(slot store.UploadSlot) string {
	kind := "attachment"
	if mt := mediaType(slot.ContentType); strings.HasPrefix(mt, "image/") && mt != "image/svg+xml" {
		kind = "inline"
	}
	if d := mime.FormatMediaType(kind, map[string]string{"filename": slot.Filename}); d != "" {
		return d
	}
	return kind
}

// recordingWriter remembers the error of a write, so that a failed write
// (the server's disk) is told apart from a failed read (the client).
type recordingWriter struct {
	w   io.Writer
	err error
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil {
		r.err = err
	}
	return n, err
}

// storageError answers a failure to store a file: 507 when the server's
// disk is full (or the quota of its user is), otherwise the error as it
// is (500).
func storageError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, store.ErrStorageFull) {
		e := fail(http.StatusInsufficientStorage, "server_out_of_space", "the server is out of disk space and could not keep the file; nothing was stored, try again later")
		e.retryAfter = time.Minute
		return e
	}
	return fmt.Errorf("store an uploaded file: %w", err)
}
