package store

import (
	"context"
	"database/sql"
	"errors"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of an agent's vCard (XEP-0054).
const (
	NicknameMax   = 100      // characters
	VCardPhotoMax = 64 << 10 // bytes
	VCardExtraMax = 32 << 10 // bytes of the rest of the vCard, serialized
	photoTypeMax  = 100      // bytes
)

// VCard is what an agent set on their own vCard (XEP-0054): a nickname,
// a photo with its media type, and the rest of what the client sent,
// opaque to the store. The zero VCard is none set.
type VCard struct {
	Nickname  string    `json:"nickname"`
	PhotoType string    `json:"photo_type"` // "image/png", ...; application/octet-stream for an image of a format not recognised; "" without a photo
	Photo     []byte    `json:"photo,omitempty"`
	Extra     []byte    `json:"extra,omitempty"` // at most VCardExtraMax bytes
	UpdatedAt time.Time `json:"updated_at"`      // zero when none was ever set
}

// VCard returns an agent's own vCard; the zero VCard when they never set
// one. An unknown portal or agent is ErrNotFound.
func (s *Store) VCard(ctx context.Context, portal, agent string) (VCard, error) {
	var v VCard
	var nick, ptype sql.NullString
	var updated sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT v.nickname, v.photo_type, v.photo, v.extra, v.updated_at
		FROM agents a JOIN portals p ON p.id = a.portal_id LEFT JOIN vcards v ON v.agent_id = a.id
		WHERE p.name = ? AND a.username_key = ?`, portal, UsernameKey(agent)).Scan(&nick, &ptype, &v.Photo, &v.Extra, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		_, _, err = agentRef(ctx, s.r, portal, agent) // says which of the two is unknown
		if err == nil {
			err = errors.New("agent disappeared")
		}
		return VCard{}, wrap("get vcard", err)
	}
	if err != nil {
		return VCard{}, wrap("get vcard", err)
	}
	v.Nickname, v.PhotoType = nick.String, ptype.String
	if updated.Valid {
		v.UpdatedAt = fromMillis(updated.Int64)
	}
	if len(v.Photo) == 0 {
		v.Photo = nil
	}
	if len(v.Extra) == 0 {
		v.Extra = nil
	}
	return v, nil
}

// SetVCard replaces an agent's own vCard. The nickname is trimmed and at
// most NicknameMax characters without control characters; a photo is at
// most VCardPhotoMax bytes and needs its media type (like image/png); the
// rest (Extra) is at most VCardExtraMax bytes. A VCard with nothing in it
// clears them. UpdatedAt is set to now.
// An unknown portal or agent is ErrNotFound.
func (s *Store) SetVCard(ctx context.Context, portal, agent string, v VCard) error {
	v.Nickname = strings.TrimSpace(v.Nickname)
	v.PhotoType = strings.ToLower(strings.TrimSpace(v.PhotoType))
	switch n := utf8.RuneCountInString(v.Nickname); {
	case !utf8.ValidString(v.Nickname):
		return invalid("the nickname is not valid UTF-8")
	case n > NicknameMax:
		return invalid("the nickname is too long (%d characters, at most %d)", n, NicknameMax)
	case strings.IndexFunc(v.Nickname, unicode.IsControl) >= 0:
		return invalid("the nickname must be one line without control characters")
	case len(v.Photo) > VCardPhotoMax:
		return invalid("the photo is too large (%d KiB, at most %d KiB): use a smaller image", (len(v.Photo)+1023)/1024, VCardPhotoMax/1024)
	case len(v.Photo) > 0 && v.PhotoType == "":
		return invalid("the photo needs its media type (like image/png or image/jpeg)")
	case len(v.Extra) > VCardExtraMax:
		return invalid("the vCard is too large (%d KiB besides the photo, at most %d KiB)", (len(v.Extra)+1023)/1024, VCardExtraMax/1024)
	case len(v.Photo) == 0:
		v.PhotoType = "" // a type without a photo means nothing
	}
	if v.PhotoType != "" {
		mt, _, err := mime.ParseMediaType(v.PhotoType)
		if err != nil || len(v.PhotoType) > photoTypeMax || !strings.HasPrefix(mt, "image/") && mt != "application/octet-stream" {
			return invalid("photo type %q is not an image media type (like image/png or image/jpeg)", v.PhotoType)
		}
		v.PhotoType = mt
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	var photo, extra any // NULL: none
	if len(v.Photo) > 0 {
		photo = v.Photo
	}
	if len(v.Extra) > 0 {
		extra = v.Extra
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO vcards (agent_id, nickname, photo_type, photo, extra, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (agent_id) DO UPDATE SET nickname = excluded.nickname, photo_type = excluded.photo_type,
				photo = excluded.photo, extra = excluded.extra, updated_at = excluded.updated_at`,
			aid, v.Nickname, v.PhotoType, photo, extra, millis(now))
		return err
	})
	return wrap("set vcard", err)
}
