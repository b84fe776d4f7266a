package im

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"jabberdesk/channels"
	"jabberdesk/store"
	"jabberdesk/uploads"
)

// maxFetchFailures bounds the tries of a customer's file that fails for
// now (a 5xx, a rate limit, no answer): after them the message is
// delivered with a line saying the file could not be fetched.
const maxFetchFailures = 5

// fetchFiles fetches the files of a stored customer message into the
// upload store before it is delivered, and records what became of each
// on the message (store.SetInboundAttachment): kept, failed for good, or
// failed for now. What is recorded is not fetched again, so a delivery
// after a crash shows the files fetched before it, once. ready is false
// while a file failed for now: the message waits for the next pass.
func (s *Service) fetchFiles(ctx context.Context, in *store.Inbound) (ready bool, err error) {
	ready = true
	for i, a := range in.Message.Attachments {
		if a.Settled() {
			continue
		}
		a, err = s.fetchFile(ctx, in, a)
		if err != nil {
			return false, err
		}
		in.Message.Attachments[i], err = s.st.SetInboundAttachment(ctx, in.ID, i, a, s.quota())
		if err != nil && a.Upload != nil {
			if derr := s.cfg.Files.Discard(a.Upload.ID); derr != nil {
				s.log.Warn("channels: a customer's file not recorded is left on disk", "file", a.Upload.ID, "err", derr)
			}
			var ue *store.UserError
			if errors.As(err, &ue) && errors.Is(err, store.ErrQuota) {
				a.Upload, a.FetchError = nil, ue.Msg
				in.Message.Attachments[i], err = s.st.SetInboundAttachment(ctx, in.ID, i, a, 0)
			}
		}
		if err != nil {
			return false, err
		}
		if !in.Message.Attachments[i].Settled() {
			ready = false
		}
	}
	return ready, nil
}

// fetchFile makes one try at a customer's file: a with Upload set (the
// file is kept, not yet recorded), FetchError, or one more FetchFailures.
// err is what stops the pass (the context ended).
func (s *Service) fetchFile(ctx context.Context, in *store.Inbound, a store.InboundAttachment) (store.InboundAttachment, error) {
	ch, err := s.st.ChannelByID(ctx, in.ChannelID)
	if err != nil {
		return a, err
	}
	kept, err := s.download(ctx, ch, a)
	if ctx.Err() != nil {
		return a, ctx.Err()
	}
	provider := ch.Type.Title()
	var refusal *uploads.Refusal
	f := channels.AsFailure(err)
	switch {
	case err == nil:
		a.Upload = &kept
		return a, nil
	case errors.Is(err, channels.ErrFileTooLarge):
		a.FetchError = "it is larger than the " + store.FormatBytes(s.cfg.Files.Limits().MaxFileSize) + " files may have"
	case errors.As(err, &refusal):
		a.FetchError = refusal.Msg
	case f != nil && !f.Retryable():
		a.FetchError = provider + " refused it: " + clip(failureCode(f), 160)
	default:
		a.FetchFailures++
		s.log.Warn("channels: fetch a customer's file", "portal", ch.Portal, "channel", ch.Name, "message", in.ID, "failures", a.FetchFailures, "err", err)
		if a.FetchFailures >= maxFetchFailures {
			a.FetchError = "no good answer from " + provider + " after " + strconv.Itoa(a.FetchFailures) + " tries"
		}
		return a, nil
	}
	s.log.Info("channels: a customer's file is not kept", "portal", ch.Portal, "channel", ch.Name, "message", in.ID, "why", a.FetchError)
	return a, nil
}

// quota is what a customer's files may take in all.
func (s *Service) quota() int64 {
	if s.cfg.Files == nil {
		return -1
	}
	return s.cfg.Files.Limits().QuotaPerAgent
}

// download fetches a file from the channel's provider into the upload
// store, within the store's size limit.
func (s *Service) download(ctx context.Context, ch store.Channel, a store.InboundAttachment) (store.KeptFile, error) {
	if s.cfg.Files == nil {
		return store.KeptFile{}, &uploads.Refusal{Msg: "files are not kept on this server"}
	}
	p, err := s.provider(ch)
	if err != nil {
		return store.KeptFile{}, &channels.Failure{Kind: channels.ProviderError, Provider: channels.Type(ch.Type), Text: "the channel is not set up"}
	}
	limit := s.cfg.Files.Limits().MaxFileSize
	if limit >= 0 && a.Size > limit {
		return store.KeptFile{}, channels.ErrFileTooLarge
	}
	ref := channels.Attachment{Kind: a.Kind, ID: a.Ref, MIME: a.MIME, Name: a.FileName, Size: a.Size}
	if strings.HasPrefix(a.Ref, "https://") || strings.HasPrefix(a.Ref, "http://") {
		ref.ID, ref.URL = "", a.Ref
	}
	m, err := p.Fetch(ctx, ref, max(limit, 0))
	if err != nil {
		return store.KeptFile{}, err
	}
	defer func() { _ = m.Body.Close() }() // read to the end or given up: closing loses nothing
	return s.cfg.Files.Keep(m.Name, m.MIME, m.Body)
}
