package web

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"jabberdesk/store"
	"jabberdesk/uploads"
)

// HTTP File Upload (XEP-0363), the HTTP half: the XMPP server hands an
// agent a slot (store.CreateUploadSlot) with the URL of the upload store
// (package uploads); the agent's client PUTs the file there once, and
// anyone with the URL GETs it, as they GET the files visitors attach and
// customers send (attach.go, bridge/im). The random slot id is the only
// secret (XEP-0363 §8) and the only name used on disk; the file name in
// the URL is checked against the slot and never touches the file system.

func (s *Server) uploadRoutes() {
	s.mux.HandleFunc("PUT /upload/{id}/{filename}", s.putUpload)
	s.mux.HandleFunc("GET /upload/{id}/{filename}", s.getUpload) // and HEAD
}

// UploadEnabled reports whether the listener accepts uploads (an upload
// store is configured).
func (s *Server) UploadEnabled() bool { return s.cfg.Uploads != nil }

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

// storeUpload streams the body to the upload store, which keeps it only
// once it is complete and on disk.
func (s *Server) storeUpload(r *http.Request, slot store.UploadSlot) error {
	// The server never reads past Content-Length, which is slot.Size.
	err := s.cfg.Uploads.Write(slot.ID, r.Body, slot.Size)
	if errors.Is(err, uploads.ErrIncomplete) {
		s.log.Info("upload cut off", "slot", slot.ID, "want", slot.Size, "err", err)
		return fail(http.StatusBadRequest, "incomplete", fmt.Sprintf("the upload ended before all %d bytes came; PUT the whole file again", slot.Size))
	}
	if err != nil {
		s.log.Error("upload not stored", "slot", slot.ID, "want", slot.Size, "err", err)
		return storageError(err)
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
	f, err := s.cfg.Uploads.Open(slot.ID)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			s.log.Warn("uploaded file is missing", "slot", slot.ID)
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
