package store

import (
	"errors"
	"path/filepath"
	"testing"
)

// A visitor's file is an uploaded slot of the chat's portal with no
// agent, within the chat's quota.
func TestAddChatFile(t *testing.T) {
	s, ctx := chatFixture(t)
	chat, err := s.CreateChat(ctx, newChat("acme", "c1", ""))
	if err != nil {
		t.Fatal(err)
	}
	f := KeptFile{ID: NewUploadSlotID(), Name: "screen\nshot.png", MIME: "Image/PNG", Size: 600}
	kept, err := s.AddChatFile(ctx, chat.ID, f, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Name != "screenshot.png" || kept.MIME != "image/png" {
		t.Errorf("kept %+v", kept)
	}
	slot, err := s.UploadSlot(ctx, f.ID)
	if err != nil || slot.Portal != "acme" || slot.Agent != "" || slot.UploadedAt == nil || slot.Filename != "screenshot.png" || slot.Size != 600 {
		t.Fatalf("slot %+v %v", slot, err)
	}
	_, err = s.AddChatFile(ctx, chat.ID, KeptFile{ID: NewUploadSlotID(), Name: "b.png", MIME: "image/png", Size: 401}, 1000)
	wantErr(t, err, ErrQuota, "the files of this chat use up the quota of 1000 bytes")
	if _, err := s.AddChatFile(ctx, chat.ID, KeptFile{ID: NewUploadSlotID(), Name: "b.png", MIME: "image/png", Size: 400}, 1000); err != nil {
		t.Errorf("exactly the quota: %v", err)
	}
	if _, err := s.AddChatFile(ctx, chat.ID, KeptFile{ID: "../../etc", Name: "b.png", Size: 1}, -1); err == nil {
		t.Error("a file with a bad id was recorded")
	}
	if _, err := s.AddChatFile(ctx, chat.ID+100, KeptFile{ID: NewUploadSlotID(), Name: "b.png", Size: 1}, -1); !errors.Is(err, ErrNotFound) {
		t.Errorf("no such chat: %v", err)
	}
}

// What became of a customer's file is kept on the stored message with
// the file's slot, until the message is delivered; the first message's
// files are the chat's first event.
func TestInboundAttachmentUntilDelivered(t *testing.T) {
	s, ch := channelFixture(t)
	ctx := t.Context()
	m := InboundMessage{ProviderMessageID: "wamid.1", CustomerID: "4915112345678", Name: "Ann",
		Attachments: []InboundAttachment{{Ref: "m1", Kind: "image"}, {Ref: "m2", Kind: "file"}}}
	in, _, err := s.StoreInbound(ctx, ch.ID, m)
	if err != nil {
		t.Fatal(err)
	}
	f := KeptFile{ID: NewUploadSlotID(), Name: "photo.jpg", MIME: "image/jpeg", Size: 10}
	if _, err := s.SetInboundAttachment(ctx, in.ID, 0, InboundAttachment{Ref: "m1", Kind: "image", Upload: &f}, 100); err != nil {
		t.Fatal(err)
	}
	big := KeptFile{ID: NewUploadSlotID(), Name: "big.pdf", MIME: "application/pdf", Size: 91}
	_, err = s.SetInboundAttachment(ctx, in.ID, 1, InboundAttachment{Ref: "m2", Kind: "file", Upload: &big}, 100)
	wantErr(t, err, ErrQuota, "the files of this customer")
	if _, err := s.SetInboundAttachment(ctx, in.ID, 1, InboundAttachment{Ref: "m2", Kind: "file", FetchFailures: 1}, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetInboundAttachment(ctx, in.ID, 2, InboundAttachment{}, 100); err == nil {
		t.Error("an attachment the message does not have was set")
	}
	pending, err := s.PendingInbound(ctx, 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %+v %v", pending, err)
	}
	as := pending[0].Message.Attachments
	if as[0].Upload == nil || as[0].Upload.ID != f.ID || !as[0].Settled() || as[1].FetchFailures != 1 || as[1].Settled() {
		t.Errorf("attachments %+v", as)
	}
	if slot, err := s.UploadSlot(ctx, f.ID); err != nil || slot.UploadedAt == nil || slot.Portal != "acme" {
		t.Errorf("slot %+v %v", slot, err)
	}
	if _, err := s.UploadSlot(ctx, big.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the file over the quota was recorded: %v", err)
	}

	n := newChat("acme", "c1", "")
	n.Question, n.ChannelID, n.CustomerID, n.InboundID = "Image: photo.jpg", ch.ID, in.Customer.ID, in.ID
	n.Event = &ChatEvent{Type: "visitor_message", AuthorKind: AuthorVisitor, Text: "Image: photo.jpg URL", Visible: true}
	chat, err := s.CreateChat(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.ChatEvents(ctx, chat.ID, 0, true, 0); len(evs) != 1 || evs[0].Seq != 1 || evs[0].Text != "Image: photo.jpg URL" || chat.LastSeq != 1 {
		t.Errorf("first event %+v, last seq %d", evs, chat.LastSeq)
	}
	_, err = s.SetInboundAttachment(ctx, in.ID, 1, InboundAttachment{Ref: "m2", FetchError: "gone"}, 100)
	if !errors.Is(err, ErrDelivered) {
		t.Errorf("after delivery: %v", err)
	}
	bad := newChat("acme", "c2", "")
	bad.Event = &ChatEvent{Type: "visitor_message", AuthorKind: AuthorVisitor, InboundID: in.ID}
	if _, err := s.CreateChat(ctx, bad); err == nil {
		t.Error("a first event that marks a message delivered was taken")
	}
}

// The migration that lets slots belong to chats and customers keeps the
// agents' uploads.
func TestChatFilesMigrationKeepsUploads(t *testing.T) {
	sqliteOnly(t)
	path := filepath.Join(t.TempDir(), "jd.db")
	reopen := func(s *Store) *Store {
		if s != nil {
			s.Close()
		}
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := reopen(nil)
	ctx := fillChatFixture(t, s)
	u, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "a.png", 3, "image/png", UploadLimits{})
	if err == nil {
		err = s.MarkUploaded(ctx, u.ID, s.now())
	}
	ms, merr := migrations("sqlite")
	if err = errors.Join(err, merr); err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, m := range ms {
		if m.name == "chat_files" {
			before = m.version - 1
		}
	}
	// That migration again, over the uploads (the later ones are not
	// written to run twice).
	if _, err := s.w.Exec(ms[before].sql); err != nil {
		t.Fatal(err)
	}
	s = reopen(s)
	got, err := s.UploadSlot(ctx, u.ID)
	if err != nil || got.Agent != "fiona.b" || got.UploadedAt == nil || got.Filename != "a.png" {
		t.Fatalf("after the migration %+v %v", got, err)
	}
	if used, err := s.UploadedBytes(ctx, "acme", "fiona.b"); err != nil || used != 3 {
		t.Errorf("quota used %d %v", used, err)
	}
}
