package uploads

import (
	"errors"
	"fmt"
	"io"
	"os"

	"jabberdesk/store"
)

// ErrIncomplete: the file's source ended or failed before the file was
// whole; nothing was kept. Errors that do not match it (nor the
// refusals of Keep) are the server's own: its disk.
var ErrIncomplete = errors.New("uploads: the file ended early")

// incomplete wraps a read failure (nil for a source that just ended).
func incomplete(err error) error {
	if err == nil {
		return ErrIncomplete
	}
	return fmt.Errorf("%w: %w", ErrIncomplete, err)
}

// pending is a file being written under a temporary name.
type pending struct {
	s  *Store
	id string
	f  *os.File
}

// begin starts the file of slot id.
func (s *Store) begin(id string) (*pending, error) {
	if !store.ValidUploadSlotID(id) {
		return nil, fmt.Errorf("uploads: %q is not a slot id", id)
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.dir, "."+id+".*.part")
	if err != nil {
		return nil, err
	}
	return &pending{s: s, id: id, f: f}, nil
}

// copyFrom writes what src gives, at most limit bytes (negative: no
// limit), and reports how many it read: limit+1 when there was more. A
// failed read is ErrIncomplete; a failed write is returned as it is.
func (p *pending) copyFrom(src io.Reader, limit int64) (int64, error) {
	if limit >= 0 {
		src = io.LimitReader(src, limit+1)
	}
	dst := &recordingWriter{w: p.f}
	n, err := io.Copy(dst, src)
	if dst.err != nil {
		return n, dst.err
	}
	if err != nil {
		return n, incomplete(err)
	}
	return n, nil
}

// commit makes the file durable under its slot id.
func (p *pending) commit() error {
	for _, step := range []func() error{func() error { return p.f.Chmod(0o640) }, p.f.Sync, p.f.Close,
		func() error { return os.Rename(p.f.Name(), p.s.path(p.id)) }} {
		if err := step(); err != nil {
			p.abort()
			return err
		}
	}
	if d, err := os.Open(p.s.dir); err == nil { // make the rename durable
		if err := d.Sync(); err != nil {
			p.s.log.Warn("upload directory not synced: a crash may lose the file", "slot", p.id, "err", err)
		}
		_ = d.Close() // opened to sync only: closing loses nothing
	}
	return nil
}

// abort removes the temporary file.
func (p *pending) abort() {
	_ = p.f.Close()           // the file is being thrown away: how it closes does not matter
	_ = os.Remove(p.f.Name()) // a leftover .part file is never served (no slot id names it)
}

// Write stores the file of an agent's slot from src, which must give
// exactly size bytes (the HTTP server reads no more than the request's
// Content-Length): less is ErrIncomplete, and nothing is kept.
func (s *Store) Write(id string, src io.Reader, size int64) error {
	p, err := s.begin(id)
	if err != nil {
		return err
	}
	n, err := p.copyFrom(src, size)
	if err == nil && n != size {
		err = fmt.Errorf("%w after %d of %d bytes", ErrIncomplete, n, size)
	}
	if err != nil {
		p.abort()
		return err
	}
	return p.commit()
}

// recordingWriter remembers the error of a write, so that a failed write
// (the server's disk) is told apart from a failed read (the client).
type recordingWriter struct {
	w   io.Writer
	err error
}

func (r *recordingWriter) Write(b []byte) (int, error) {
	n, err := r.w.Write(b)
	if err != nil {
		r.err = err
	}
	return n, err
}
