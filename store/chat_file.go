package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KeptFile is a file the server put in the upload store itself, rather
// than an agent through a slot: one a web visitor attached to a chat, or
// one a channel customer sent, fetched from their provider. It is
// complete on disk under its ID before it is recorded, and recorded as
// an uploaded slot, so that it is served like an agent's upload.
type KeptFile struct {
	ID   string `json:"id"` // a slot id (NewUploadSlotID): the file's name on disk and in its URL
	Name string `json:"name"`
	MIME string `json:"mime"`
	Size int64  `json:"size"`
}

// NewUploadSlotID is a fresh random slot id, to keep a file under.
func NewUploadSlotID() string { return newUploadSlotID() }

// check validates a kept file before it is recorded, and gives its name
// and type in the form slots keep them.
func (f KeptFile) check() (KeptFile, error) {
	if !ValidUploadSlotID(f.ID) {
		return f, fmt.Errorf("store: kept file: %q is not a slot id", f.ID)
	}
	if f.Size < 0 {
		return f, fmt.Errorf("store: kept file: size %d", f.Size)
	}
	var err error
	if f.Name, err = SanitizeFilename(f.Name); err != nil {
		return f, err
	}
	f.MIME, err = normalizeContentType(f.MIME)
	return f, err
}

// uploadOwner is the column of upload_slots a kept file belongs to.
type uploadOwner string

const (
	ownerChat     uploadOwner = "chat_id"
	ownerCustomer uploadOwner = "customer_id"
)

// insertKeptFile records f as an uploaded slot of the owner's portal,
// within quota bytes for the owner (negative: none; over it: an ErrQuota
// UserError).
func insertKeptFile(ctx context.Context, tx *sql.Tx, owner uploadOwner, ownerID int64, f KeptFile, quota int64, now time.Time) error {
	var portalID int64
	q := `SELECT portal_id FROM chats WHERE id = ?`
	if owner == ownerCustomer {
		q = `SELECT ch.portal_id FROM channel_customers cu JOIN channels ch ON ch.id = cu.channel_id WHERE cu.id = ?`
	}
	if err := tx.QueryRowContext(ctx, q, ownerID).Scan(&portalID); errors.Is(err, sql.ErrNoRows) {
		return notFound("no %s %d for a file", owner, ownerID)
	} else if err != nil {
		return err
	}
	if quota >= 0 {
		var used int64
		// Only the owner's column differs between the two statements.
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM upload_slots WHERE `+string(owner)+` = ?`, ownerID).Scan(&used); err != nil {
			return err
		}
		if used+f.Size > quota {
			whose := map[uploadOwner]string{ownerChat: "this chat", ownerCustomer: "this customer"}[owner]
			return &UserError{Kind: ErrQuota, Msg: fmt.Sprintf("the files of %s use up the quota of %s: %s are kept, and this file needs %s",
				whose, FormatBytes(quota), FormatBytes(used), FormatBytes(f.Size))}
		}
	}
	ms := millis(now)
	_, err := tx.ExecContext(ctx, `INSERT INTO upload_slots (id, portal_id, `+string(owner)+`, filename, size, content_type, created_at, expires_at, uploaded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.ID, portalID, ownerID, f.Name, f.Size, f.MIME, ms, ms+1, ms)
	return err
}

// AddChatFile records a file a web visitor attached to a chat, within
// quota bytes for the chat's files (negative: none; over it: an ErrQuota
// UserError). It returns the file as recorded.
func (s *Store) AddChatFile(ctx context.Context, chatID int64, f KeptFile, quota int64) (KeptFile, error) {
	f, err := f.check()
	if err != nil {
		return KeptFile{}, err
	}
	now := s.now().UTC()
	err = s.tx(ctx, func(tx *sql.Tx) error { return insertKeptFile(ctx, tx, ownerChat, chatID, f, quota, now) })
	if err != nil {
		return KeptFile{}, wrap("add chat file", err)
	}
	return f, nil
}

// SetInboundAttachment records what became of fetching attachment i of a
// stored customer message that is not delivered yet: a.Upload, the file
// kept in the upload store (its slot is recorded in the same
// transaction, within quota bytes for the customer's files: an ErrQuota
// UserError over it), a.FetchError or a.FetchFailures. So a message
// delivered after a crash shows the file fetched before it, and the file
// is fetched once. It is ErrDelivered if the message was delivered
// meanwhile, and returns the attachment as recorded.
func (s *Store) SetInboundAttachment(ctx context.Context, inboundID int64, i int, a InboundAttachment, quota int64) (InboundAttachment, error) {
	if a.Upload != nil {
		f, err := a.Upload.check()
		if err != nil {
			return InboundAttachment{}, err
		}
		a.Upload = &f
	}
	a.FetchError = truncateRunes(a.FetchError, 300)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var payload string
		var customerID int64
		err := tx.QueryRowContext(ctx, `SELECT payload, customer_id FROM channel_inbound WHERE id = ? AND delivered_at IS NULL`, inboundID).
			Scan(&payload, &customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDelivered
		}
		if err != nil {
			return err
		}
		var m InboundMessage
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			return err
		}
		if i < 0 || i >= len(m.Attachments) {
			return fmt.Errorf("message %d has no attachment %d", inboundID, i)
		}
		m.Attachments[i] = a
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE channel_inbound SET payload = ? WHERE id = ?`, string(b), inboundID); err != nil {
			return err
		}
		if a.Upload == nil {
			return nil
		}
		return insertKeptFile(ctx, tx, ownerCustomer, customerID, *a.Upload, quota, s.now().UTC())
	})
	if err != nil {
		return InboundAttachment{}, wrap("set inbound attachment", err)
	}
	return a, nil
}
