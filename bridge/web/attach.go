package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/store"
	"jabberdesk/uploads"
)

// A visitor attaches a file (a screenshot, a PDF) to their chat: the body
// of POST /api/v1/chats/{id}/files is the file itself, typed by its
// content (uploads.Keep), within the upload store's size, type and quota
// limits rather than http.max_body. The file is kept in the upload store
// and becomes a visitor message that agents get as its address with
// out-of-band data, like a channel customer's file.

func (s *Server) attachRoutes() {
	s.mux.HandleFunc("POST /api/v1/chats/{id}/files", s.attach)
}

// attachedFile is the answer to an attachment: the file as the chat shows
// it.
type attachedFile struct {
	Status string      `json:"status"`
	File   bridge.File `json:"file"`
}

func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	v, err := s.admitAttachment(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lim := s.cfg.Uploads.Limits()
	// The file may take longer than a request: as long as it keeps up the
	// minimum rate.
	end := time.Now().Add(s.transferTime(max(lim.MaxFileSize, r.ContentLength)))
	setDeadlines(w, end, end)
	q := r.URL.Query()
	kept, err := s.cfg.Uploads.Keep(q.Get("name"), r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		s.writeError(w, r, attachError(err))
		return
	}
	// The file is on disk: record it and say it even if the client has
	// gone, or it would be kept for nothing.
	ctx := context.WithoutCancel(r.Context())
	f, err := s.cfg.Store.AddChatFile(ctx, v.Info().ID, kept, lim.QuotaPerAgent)
	if err == nil {
		err = v.SayFile(ctx, f, q.Get("client_id"))
	} else if derr := s.cfg.Uploads.Discard(kept.ID); derr != nil {
		s.log.Warn("a visitor's file not recorded is left on disk", "file", kept.ID, "err", derr)
	}
	if err != nil {
		s.writeError(w, r, attachError(err))
		return
	}
	s.log.Info("visitor attached a file", "portal", v.Info().Portal, "chat", v.Info().Number, "file", f.ID, "size", f.Size, "type", f.MIME)
	writeJSON(w, http.StatusAccepted, attachedFile{Status: "stored", File: bridge.File{URL: s.cfg.Uploads.URL(f.ID, f.Name), Name: f.Name, MIME: f.MIME}})
}

// admitAttachment checks what can be checked before the body is read:
// the token, that files are taken, the chat's message rate, a chat that
// is over or an agent who is not keeping up, and a Content-Length over
// the limit.
func (s *Server) admitAttachment(r *http.Request) (*bridge.VisitorChat, error) {
	v, err := s.visitor(r)
	if err != nil {
		return nil, err
	}
	if s.cfg.Uploads == nil {
		return nil, fail(http.StatusNotFound, "not_found", "this server does not take files")
	}
	if err := admitChatRate(s.lim.messages, v.Info().PublicID, "messages"); err != nil {
		return nil, err
	}
	if err := v.Ready(r.Context()); err != nil {
		return nil, err
	}
	if limit := s.cfg.Uploads.Limits().MaxFileSize; limit >= 0 && r.ContentLength > limit {
		return nil, fail(http.StatusRequestEntityTooLarge, "too_large", "the file is larger than the "+store.FormatBytes(limit)+
			" ("+strconv.FormatInt(limit, 10)+" bytes) files may have")
	}
	return v, nil
}

// attachError maps what refused a file to the API's errors.
func attachError(err error) error {
	var refusal *uploads.Refusal
	var ue *store.UserError
	switch {
	case errors.As(err, &refusal) && refusal.TooLarge:
		return fail(http.StatusRequestEntityTooLarge, "too_large", refusal.Msg)
	case errors.As(err, &refusal):
		return fail(http.StatusUnsupportedMediaType, "unsupported_type", refusal.Msg)
	case errors.Is(err, uploads.ErrIncomplete):
		return fail(http.StatusBadRequest, "incomplete", "the file ended before it was whole; send it again")
	case errors.As(err, &ue) && errors.Is(err, store.ErrQuota):
		return fail(http.StatusRequestEntityTooLarge, "quota_exceeded", ue.Msg)
	case errors.As(err, &ue), errors.Is(err, bridge.ErrChatEnded), errors.Is(err, bridge.ErrAgentBusy):
		return err
	}
	return storageError(err)
}
