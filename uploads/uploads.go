// Package uploads is the upload store: the files of chats on disk, one
// per slot named by the slot's random id, and their public addresses on
// the HTTP listener (/upload/{id}/{filename}, served by bridge/web). Three
// kinds of file go in: an agent's, PUT through an XEP-0363 slot (Write);
// and, kept by the server itself (Keep), a web visitor's attachment and a
// channel customer's file fetched from their provider. The store package
// records the slots; this one knows the directory and the addresses.
//
// Invariants:
//   - Only a valid slot id (store.ValidUploadSlotID) names a file on
//     disk; a client's file name never touches the file system.
//   - A file is complete and synced under a temporary name before it is
//     renamed to its id: no partial file is ever under a final name.
//   - A file the server keeps itself is typed by its content, not by
//     what the sender claims, and programs, web pages and SVG images are
//     refused (keep.go), so nothing served from here runs as a page.
package uploads

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"jabberdesk/store"
)

// Config configures a Store.
type Config struct {
	// Dir holds the files (normally DATA_DIR/uploads).
	Dir   string
	Store *store.Store
	// Limits bound every file; zero fields are the store's defaults.
	Limits store.UploadLimits
	Logger *slog.Logger
}

// Store is the upload store. A nil *Store is one that is off: it has no
// address, finds nothing and keeps nothing.
type Store struct {
	dir    string
	st     *store.Store
	limits store.UploadLimits
	log    *slog.Logger
	base   atomic.Pointer[string]
}

// New makes a Store; SetBaseURL gives it its public address.
func New(cfg Config) *Store {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Store{dir: cfg.Dir, st: cfg.Store, limits: cfg.Limits.WithDefaults(), log: cfg.Logger}
}

// SetBaseURL sets the public URL of the HTTP listener (such as
// https://chat.example.com), once it is known.
func (s *Store) SetBaseURL(base string) {
	b := strings.TrimRight(base, "/")
	s.base.Store(&b)
}

// baseURL is the public URL set last, or "".
func (s *Store) baseURL() string {
	if s == nil {
		return ""
	}
	if b := s.base.Load(); b != nil {
		return *b
	}
	return ""
}

// Limits are the limits of every file, with the defaults filled in.
func (s *Store) Limits() store.UploadLimits { return s.limits }

// URL is the public address of a slot's file: its PUT and GET URL.
func (s *Store) URL(id, filename string) string {
	return SlotURL(s.baseURL(), id, filename)
}

// SlotURL is the address of a slot's file under base, the public URL of
// the HTTP listener.
func SlotURL(base, id, filename string) string {
	return strings.TrimRight(base, "/") + "/upload/" + url.PathEscape(id) + "/" + url.PathEscape(filename)
}

// Find returns the slot whose file the address names, when it is an
// address of this store (nothing else: not another site's, not a slot
// without its file yet, not a name that is not the slot's).
func (s *Store) Find(ctx context.Context, raw string) (store.UploadSlot, bool) {
	base := s.baseURL()
	if base == "" {
		return store.UploadSlot{}, false
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(raw), base+"/upload/")
	if !ok {
		return store.UploadSlot{}, false
	}
	id, escaped, ok := strings.Cut(rest, "/")
	name, err := url.PathUnescape(escaped)
	if !ok || err != nil || !store.ValidUploadSlotID(id) {
		return store.UploadSlot{}, false
	}
	slot, err := s.st.UploadSlot(ctx, id)
	if err != nil || slot.Filename != name || slot.UploadedAt == nil {
		return store.UploadSlot{}, false
	}
	return slot, true
}

// path is where the file of slot id is; id must be valid.
func (s *Store) path(id string) string { return filepath.Join(s.dir, id) }

// Open opens the file of slot id for reading.
func (s *Store) Open(id string) (*os.File, error) {
	if !store.ValidUploadSlotID(id) {
		return nil, os.ErrNotExist
	}
	return os.Open(s.path(id))
}

// Discard removes the file of a slot that was not recorded after all.
func (s *Store) Discard(id string) error {
	if !store.ValidUploadSlotID(id) {
		return nil
	}
	err := os.Remove(s.path(id))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}
