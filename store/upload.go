package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"mime"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kinds of refused upload slots (XEP-0363 §5), besides ErrInvalid (a bad
// file name or a type that is not allowed: not-acceptable) and
// ErrNotFound (no such portal or agent).
var (
	// ErrTooLarge: the file is larger than the maximum file size
	// (not-acceptable with <file-too-large/>).
	ErrTooLarge = errors.New("file too large")
	// ErrQuota: the agent's upload quota is used up (resource-constraint).
	ErrQuota = errors.New("upload quota used")
)

// Upload defaults, used where UploadLimits leaves a field zero.
const (
	DefaultUploadMaxFileSize = 10 << 20 // bytes
	DefaultUploadQuota       = 1 << 30  // bytes per agent
	DefaultUploadSlotTTL     = 5 * time.Minute
	// MaxUploadFilenameBytes is the longest file name kept; longer names
	// are shortened, keeping their extension.
	MaxUploadFilenameBytes = 200
)

// UploadLimits bound what agents may upload.
type UploadLimits struct {
	// MaxFileSize is the largest file in bytes (0: the default, negative:
	// no limit).
	MaxFileSize int64
	// QuotaPerAgent is the total in bytes of an agent's uploaded files
	// and pending slots (0: the default, negative: no quota).
	QuotaPerAgent int64
	// AllowedTypes are the media types that may be uploaded, such as
	// "image/*" or "application/pdf" ("*/*" or empty: any).
	AllowedTypes []string
	// SlotTTL is how long after the slot is handed out the PUT must start
	// (0 or negative: the default).
	SlotTTL time.Duration
}

// WithDefaults is l with its zero fields set to the defaults.
func (l UploadLimits) WithDefaults() UploadLimits {
	if l.MaxFileSize == 0 {
		l.MaxFileSize = DefaultUploadMaxFileSize
	}
	if l.QuotaPerAgent == 0 {
		l.QuotaPerAgent = DefaultUploadQuota
	}
	if l.SlotTTL <= 0 {
		l.SlotTTL = DefaultUploadSlotTTL
	}
	return l
}

// Allows reports whether a file of the media type ct may be uploaded.
// Parameters (such as charset) and case are ignored.
func (l UploadLimits) Allows(ct string) bool {
	if len(l.AllowedTypes) == 0 {
		return true
	}
	mt := mediaType(ct)
	major, _, _ := strings.Cut(mt, "/")
	for _, p := range l.AllowedTypes {
		p = mediaType(p)
		switch {
		case p == "*" || p == "*/*" || p == mt:
			return true
		case strings.HasSuffix(p, "/*") && strings.TrimSuffix(p, "/*") == major:
			return true
		}
	}
	return false
}

// mediaType is the lowercased type/subtype of a Content-Type value,
// without parameters.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// UploadSlot is a place an agent may PUT one file to, once, and from which
// anyone who knows the URL can GET it afterwards (XEP-0363).
type UploadSlot struct {
	ID          string     `json:"id"`
	Portal      string     `json:"portal"`
	Agent       string     `json:"agent"` // username; "" for a visitor's or customer's file
	Filename    string     `json:"filename"`
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	UploadedAt  *time.Time `json:"uploaded_at,omitempty"`
}

// Expired reports whether the PUT can no longer start at now.
func (u UploadSlot) Expired(now time.Time) bool { return !now.Before(u.ExpiresAt) }

// SanitizeFilename makes a client's file name safe to put in a URL path
// segment and a Content-Disposition header: path separators become "_",
// control and format characters (line breaks, bidirectional overrides)
// and invalid UTF-8 are dropped, leading and trailing dots and spaces are
// trimmed, and a name longer than MaxUploadFilenameBytes is shortened
// keeping its extension. A name with nothing left but dots, spaces and
// "_" is an ErrInvalid UserError.
func SanitizeFilename(name string) (string, error) {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError: // invalid UTF-8 (or U+FFFD, which says as much)
		case r == '/' || r == '\\':
			b.WriteByte('_')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
		default:
			b.WriteRune(r)
		}
	}
	out := strings.Trim(b.String(), ". \u00a0")
	if strings.Trim(out, "._ ") == "" {
		return "", invalid("file name %q is not usable: give the file a name of letters, digits and an extension", name)
	}
	if len(out) <= MaxUploadFilenameBytes {
		return out, nil
	}
	ext := path.Ext(out)
	if len(ext) > 20 || len(ext) == len(out) {
		ext = ""
	}
	stem := out[:len(out)-len(ext)]
	cut := MaxUploadFilenameBytes - len(ext)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	return strings.TrimRight(stem[:cut], ". ") + ext, nil
}

// normalizeContentType checks a media type and returns it lowercased with
// its parameters in canonical form; "" is application/octet-stream
// (XEP-0363 §5).
func normalizeContentType(ct string) (string, error) {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return "application/octet-stream", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	major, minor, ok := strings.Cut(mt, "/")
	if err != nil || !ok || major == "" || minor == "" || strings.Contains(mt, "*") || len(ct) > 255 {
		return "", invalid("content type %q is not a media type (like image/png or application/pdf)", ct)
	}
	out := mime.FormatMediaType(mt, params)
	if strings.Trim(out, "._ ") == "" {
		return "", invalid("content type %q is not a media type (like image/png or application/pdf)", ct)
	}
	return out, nil
}

// uploadSlotIDEncoding is lowercase base32 without padding: URL-safe and
// the same on case-insensitive file systems.
var uploadSlotIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const uploadSlotIDLen = 32 // 20 random bytes, 160 bits

func newUploadSlotID() string {
	b := make([]byte, 20)
	rand.Read(b) // never fails (crypto/rand)
	return uploadSlotIDEncoding.EncodeToString(b)
}

// ValidUploadSlotID reports whether id has the form of a slot id, so that
// callers can refuse anything else before using it in a path.
func ValidUploadSlotID(id string) bool {
	if len(id) != uploadSlotIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// FormatBytes writes a size for people: "512 bytes", "1.5 KB", "10 MB"
// (multiples of 1024).
func FormatBytes(n int64) string {
	f := func(v float64, unit string) string {
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + " " + unit
	}
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " bytes"
	case n < 1<<20:
		return f(float64(n)/(1<<10), "KB")
	case n < 1<<30:
		return f(float64(n)/(1<<20), "MB")
	}
	return f(float64(n)/(1<<30), "GB")
}

// CreateUploadSlot hands agent a slot for one file of size bytes. The
// file name is sanitised (see SanitizeFilename) and an empty content type
// is application/octet-stream. Refusals are UserErrors of kind
// ErrTooLarge, ErrQuota, ErrInvalid (bad name or size, type not allowed)
// or ErrNotFound (no such portal or agent).
func (s *Store) CreateUploadSlot(ctx context.Context, portal, agent, filename string, size int64, contentType string, lim UploadLimits) (UploadSlot, error) {
	lim = lim.WithDefaults()
	name, err := SanitizeFilename(filename)
	if err != nil {
		return UploadSlot{}, err
	}
	if size < 0 {
		return UploadSlot{}, invalid("file size %d is not valid: give the size in bytes", size)
	}
	if lim.MaxFileSize >= 0 && size > lim.MaxFileSize {
		return UploadSlot{}, &UserError{Kind: ErrTooLarge, Msg: fmt.Sprintf("file too large (%s): the maximum file size is %s (%d bytes)",
			FormatBytes(size), FormatBytes(lim.MaxFileSize), lim.MaxFileSize)}
	}
	ct, err := normalizeContentType(contentType)
	if err != nil {
		return UploadSlot{}, err
	}
	if !lim.Allows(ct) {
		return UploadSlot{}, invalid("files of type %s cannot be uploaded here; allowed types: %s", mediaType(ct), strings.Join(lim.AllowedTypes, ", "))
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	slot := UploadSlot{ID: newUploadSlotID(), Portal: portal, Filename: name, ContentType: ct, Size: size,
		CreatedAt: now, ExpiresAt: now.Add(lim.SlotTTL).Truncate(time.Millisecond)}
	if !slot.ExpiresAt.After(now) {
		slot.ExpiresAt = now.Add(time.Millisecond)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.agent(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		slot.Agent = a.Username
		// The check and the insert share the one write transaction, so
		// concurrent requests cannot both fit into the last free bytes.
		if lim.QuotaPerAgent >= 0 {
			used, err := uploadedBytes(ctx, tx, a.ID, now)
			if err != nil {
				return err
			}
			if used+size > lim.QuotaPerAgent {
				return &UserError{Kind: ErrQuota, Msg: fmt.Sprintf("upload quota of %s used: %s is uploaded or being uploaded, and this file needs %s",
					FormatBytes(lim.QuotaPerAgent), FormatBytes(used), FormatBytes(size))}
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO upload_slots
			(id, portal_id, agent_id, filename, size, content_type, created_at, expires_at)
			VALUES (?, (SELECT portal_id FROM agents WHERE id = ?), ?, ?, ?, ?, ?, ?)`,
			slot.ID, a.ID, a.ID, slot.Filename, slot.Size, slot.ContentType, millis(slot.CreatedAt), millis(slot.ExpiresAt))
		return err
	})
	if err != nil {
		return UploadSlot{}, wrap("create upload slot", err)
	}
	return slot, nil
}

// uploadedBytes is what counts against an agent's quota at now: uploaded
// files and slots that may still be uploaded to.
func uploadedBytes(ctx context.Context, q querier, agentID int64, now time.Time) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM upload_slots
		WHERE agent_id = ? AND (uploaded_at IS NOT NULL OR expires_at > ?)`, agentID, millis(now)).Scan(&n)
	return n, err
}

// UploadedBytes is the part of an agent's quota in use: the sizes of the
// files they uploaded plus those of their pending, unexpired slots.
func (s *Store) UploadedBytes(ctx context.Context, portal, agent string) (int64, error) {
	a, err := s.agent(ctx, s.r, portal, agent)
	if err != nil {
		return 0, err
	}
	n, err := uploadedBytes(ctx, s.r, a.ID, s.now())
	return n, wrap("uploaded bytes", err)
}

func uploadSlotNotFound(id string) error {
	return notFound("upload slot %q does not exist (request a new slot)", id)
}

// UploadSlot looks a slot up by its id, expired or not.
func (s *Store) UploadSlot(ctx context.Context, id string) (UploadSlot, error) {
	if !ValidUploadSlotID(id) {
		return UploadSlot{}, uploadSlotNotFound(id)
	}
	var u UploadSlot
	var created, expires int64
	var uploaded sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT u.id, p.name, coalesce(a.username, ''), u.filename, u.content_type, u.size,
			u.created_at, u.expires_at, u.uploaded_at
		FROM upload_slots u JOIN portals p ON p.id = u.portal_id LEFT JOIN agents a ON a.id = u.agent_id
		WHERE u.id = ?`, id).Scan(&u.ID, &u.Portal, &u.Agent, &u.Filename, &u.ContentType, &u.Size, &created, &expires, &uploaded)
	if errors.Is(err, sql.ErrNoRows) {
		return UploadSlot{}, uploadSlotNotFound(id)
	}
	if err != nil {
		return UploadSlot{}, wrap("get upload slot", err)
	}
	u.CreatedAt, u.ExpiresAt, u.UploadedAt = fromMillis(created), fromMillis(expires), optTime(uploaded)
	return u, nil
}

// MarkUploaded records that the slot's file is completely stored. It is
// an ErrExists UserError if the slot was uploaded to before. It does not
// check the expiry: a PUT that started in time may finish after it.
func (s *Store) MarkUploaded(ctx context.Context, id string, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE upload_slots SET uploaded_at = ? WHERE id = ? AND uploaded_at IS NULL`, millis(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM upload_slots WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return uploadSlotNotFound(id)
		}
		if err != nil {
			return err
		}
		return exists("upload slot %q has already been uploaded to (request a new slot for another file)", id)
	})
	return wrap("mark uploaded", err)
}
