package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCreateUploadSlot(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	now := s.now()
	lim := UploadLimits{MaxFileSize: 1 << 20}
	u, err := s.CreateUploadSlot(ctx, "acme", "Fiona.B", "my photo.PNG", 1234, "Image/PNG", lim)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidUploadSlotID(u.ID) || u.Portal != "acme" || u.Agent != "fiona.b" || u.Filename != "my photo.PNG" ||
		u.ContentType != "image/png" || u.Size != 1234 || !u.CreatedAt.Equal(now) ||
		!u.ExpiresAt.Equal(now.Add(DefaultUploadSlotTTL)) || u.UploadedAt != nil {
		t.Fatalf("slot %+v", u)
	}
	got, err := s.UploadSlot(ctx, u.ID)
	if err != nil || got.ID != u.ID || got.Portal != u.Portal || got.Agent != u.Agent || got.Filename != u.Filename ||
		got.ContentType != u.ContentType || got.Size != u.Size || !got.CreatedAt.Equal(u.CreatedAt) ||
		!got.ExpiresAt.Equal(u.ExpiresAt) || got.UploadedAt != nil {
		t.Fatalf("UploadSlot = %+v, %v; want %+v", got, err, u)
	}
	u2, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "my photo.PNG", 1234, "image/png", lim)
	if err != nil || u2.ID == u.ID {
		t.Fatalf("second slot %+v, %v: ids must differ", u2, err)
	}

	// Exactly the maximum is fine, one byte more is not.
	if _, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "big.bin", 1<<20, "", lim); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateUploadSlot(ctx, "acme", "fiona.b", "big.bin", 1<<20+1, "", lim)
	wantErr(t, err, ErrTooLarge, "the maximum file size is 1 MB (1048576 bytes)")
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrQuota) {
		t.Fatalf("%v has the wrong kind", err)
	}
	// The default maximum applies when none is set.
	_, err = s.CreateUploadSlot(ctx, "acme", "fiona.b", "big.bin", DefaultUploadMaxFileSize+1, "", UploadLimits{})
	wantErr(t, err, ErrTooLarge, "10 MB")
	// A negative maximum is no limit.
	if _, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "big.bin", DefaultUploadMaxFileSize+1, "", UploadLimits{MaxFileSize: -1}); err != nil {
		t.Fatal(err)
	}

	// An empty content type is application/octet-stream; parameters are kept.
	if u, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "notes", 3, "", lim); err != nil || u.ContentType != "application/octet-stream" {
		t.Fatalf("%+v %v", u, err)
	}
	if u, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "a.txt", 3, "text/plain; Charset=UTF-8", lim); err != nil || u.ContentType != "text/plain; charset=UTF-8" {
		t.Fatalf("%+v %v", u, err)
	}

	for _, tc := range []struct {
		portal, agent, name string
		size                int64
		ct                  string
		kind                error
		want                string
	}{
		{"acme", "fiona.b", "a.png", -1, "image/png", ErrInvalid, "file size -1 is not valid"},
		{"acme", "fiona.b", "a.png", 1, "image", ErrInvalid, `content type "image" is not a media type`},
		{"acme", "fiona.b", "a.png", 1, "image/*", ErrInvalid, "is not a media type"},
		{"acme", "fiona.b", "a.png", 1, "text/html\r\nX-Evil: 1", ErrInvalid, "is not a media type"},
		{"acme", "fiona.b", "../..", 1, "image/png", ErrInvalid, "is not usable"},
		{"acme", "nobody.here", "a.png", 1, "image/png", ErrNotFound, `agent "nobody.here" does not exist in portal "acme"`},
		{"acme", "henry.k", "a.png", 1, "image/png", ErrNotFound, `agent "henry.k" does not exist in portal "acme"`},
		{"nowhere", "fiona.b", "a.png", 1, "image/png", ErrNotFound, `portal "nowhere" does not exist`},
	} {
		_, err := s.CreateUploadSlot(ctx, tc.portal, tc.agent, tc.name, tc.size, tc.ct, lim)
		wantErr(t, err, tc.kind, tc.want)
	}

	if _, err := s.UploadSlot(ctx, "abcdefghijklmnopqrstuvwxyz234567"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown slot: %v", err)
	}
	if _, err := s.UploadSlot(ctx, "../../etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("malformed slot id: %v", err)
	}
}

func TestUploadQuota(t *testing.T) {
	s, ctx, advance := helpdeskFixture(t)
	lim := UploadLimits{MaxFileSize: 1000, QuotaPerAgent: 1000, SlotTTL: time.Minute}
	used := func(agent string, want int64) {
		t.Helper()
		if n, err := s.UploadedBytes(ctx, "acme", agent); err != nil || n != want {
			t.Fatalf("UploadedBytes(%s) = %d, %v; want %d", agent, n, err, want)
		}
	}
	used("fiona.b", 0)
	a, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "a.png", 600, "image/png", lim)
	if err != nil {
		t.Fatal(err)
	}
	used("fiona.b", 600) // pending slots count
	_, err = s.CreateUploadSlot(ctx, "acme", "fiona.b", "b.png", 401, "image/png", lim)
	wantErr(t, err, ErrQuota, "upload quota of 1000 bytes used")
	b, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "b.png", 400, "image/png", lim)
	if err != nil {
		t.Fatal(err)
	}
	used("fiona.b", 1000)
	// The quota is per agent.
	if _, err := s.CreateUploadSlot(ctx, "acme", "george.w", "c.png", 1000, "image/png", lim); err != nil {
		t.Fatal(err)
	}
	used("fiona.b", 1000)

	// Uploaded files keep counting after the slot expires; pending slots
	// stop counting when they expire.
	if err := s.MarkUploaded(ctx, a.ID, s.now()); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	used("fiona.b", 600)
	if _, err := s.UploadedBytes(ctx, "acme", "nobody.here"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
	_, err = s.CreateUploadSlot(ctx, "acme", "fiona.b", "d.png", 401, "image/png", lim)
	wantErr(t, err, ErrQuota, "600 bytes is uploaded or being uploaded")
	if _, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "d.png", 400, "image/png", lim); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UploadSlot(ctx, b.ID); !got.Expired(s.now()) {
		t.Fatalf("slot %+v should have expired at %v", got, s.now())
	}

	// The message is in MB for quotas of megabytes.
	_, err = s.CreateUploadSlot(ctx, "acme", "fiona.b", "e.png", 600, "image/png", UploadLimits{QuotaPerAgent: 1000 + 5<<20 - 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateUploadSlot(ctx, "acme", "fiona.b", "e.png", 5<<20, "image/png", UploadLimits{QuotaPerAgent: 5 << 20})
	wantErr(t, err, ErrQuota, "upload quota of 5 MB used")
	// A negative quota is none.
	if _, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "f.png", 5<<20, "image/png", UploadLimits{QuotaPerAgent: -1}); err != nil {
		t.Fatal(err)
	}
}

func TestUploadAllowedTypes(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	lim := UploadLimits{AllowedTypes: []string{"image/*", "application/pdf", "Text/Plain"}}
	for _, tc := range []struct {
		ct string
		ok bool
	}{
		{"image/png", true},
		{"IMAGE/JPEG", true},
		{"image/svg+xml", true},
		{"application/pdf", true},
		{"text/plain; charset=utf-8", true},
		{"text/html", false},
		{"application/pdf-x", false},
		{"imagex/png", false},
		{"", false}, // application/octet-stream
	} {
		_, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "file.dat", 10, tc.ct, lim)
		if tc.ok && err != nil {
			t.Errorf("%q: %v", tc.ct, err)
		}
		if !tc.ok {
			wantErr(t, err, ErrInvalid, "cannot be uploaded here; allowed types: image/*, application/pdf, Text/Plain")
		}
	}
	for _, any := range [][]string{nil, {"*/*"}, {"*"}} {
		if _, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "x.html", 10, "text/html", UploadLimits{AllowedTypes: any}); err != nil {
			t.Errorf("%q: %v", any, err)
		}
	}
	if UploadLimits.Allows(UploadLimits{AllowedTypes: []string{"image/*"}}, "imagefoo") {
		t.Error("a type without a subtype matched image/*")
	}
}

func TestSanitizeFilename(t *testing.T) {
	long := strings.Repeat("a", 250)
	longUTF8 := strings.Repeat("é", 150) // 300 bytes
	for _, tc := range []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"My Photo (1).JPG", "My Photo (1).JPG"},
		{"résumé – final.pdf", "résumé – final.pdf"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{"..\\..\\boot.ini", "_.._boot.ini"},
		{"/abs/path.png", "_abs_path.png"},
		{"a\x00b\r\nc\x7f.txt", "abc.txt"},
		{"invoice\u202Egpj.exe", "invoicegpj.exe"}, // no bidi override
		{"zero\u200bwidth.png", "zerowidth.png"},
		{"bad\xff\xfeutf8.png", "badutf8.png"},
		{".hidden", "hidden"},
		{"  spaced name.png  ", "spaced name.png"},
		{"trailing.", "trailing"},
		{long + ".jpeg", long[:195] + ".jpeg"},
		{long, long[:200]},
		{longUTF8 + ".png", strings.Repeat("é", 98) + ".png"}, // cut on a character boundary
		{long + ".averyveryverylongextension", long[:200]},
	} {
		got, err := SanitizeFilename(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("SanitizeFilename(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if len(got) > MaxUploadFilenameBytes || strings.ContainsAny(got, "/\\\x00\n\r") {
			t.Errorf("SanitizeFilename(%q) = %q is not safe", tc.in, got)
		}
	}
	for _, in := range []string{"", "..", ".", "/", " . ", "\x00\x01", "\u202E"} {
		if got, err := SanitizeFilename(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("SanitizeFilename(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestUploadSlotExpiryAndMarkUploaded(t *testing.T) {
	s, ctx, advance := helpdeskFixture(t)
	u, err := s.CreateUploadSlot(ctx, "acme", "fiona.b", "a.pdf", 10, "application/pdf", UploadLimits{SlotTTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if u.Expired(s.now()) || !u.ExpiresAt.Equal(s.now().Add(30*time.Second)) {
		t.Fatalf("fresh slot %+v", u)
	}
	advance(29 * time.Second)
	if u.Expired(s.now()) {
		t.Fatal("expired early")
	}
	advance(time.Second)
	if !u.Expired(s.now()) {
		t.Fatal("not expired at expires_at")
	}
	// A PUT that started in time may finish after the expiry.
	at := s.now().Add(time.Second)
	if err := s.MarkUploaded(ctx, u.ID, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.UploadSlot(ctx, u.ID)
	if err != nil || got.UploadedAt == nil || !got.UploadedAt.Equal(at) {
		t.Fatalf("after upload: %+v %v", got, err)
	}
	wantErr(t, s.MarkUploaded(ctx, u.ID, at), ErrExists, "has already been uploaded to")
	wantErr(t, s.MarkUploaded(ctx, "abcdefghijklmnopqrstuvwxyz234567", at), ErrNotFound, "does not exist")
}

func TestUploadSlotsGoWithTheirAgent(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	u, err := s.CreateUploadSlot(ctx, "acme", "george.w", "a.pdf", 10, "application/pdf", UploadLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAgent(ctx, "acme", "george.w", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadSlot(ctx, u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("slot of a removed agent: %v", err)
	}
	u, err = s.CreateUploadSlot(ctx, "globex", "henry.k", "a.pdf", 10, "application/pdf", UploadLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePortal(ctx, "globex", "test"); err != nil {
		t.Fatal(err)
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM upload_slots WHERE id = ?`, u.ID).Scan(&n)
	if n != 0 {
		t.Fatal("slot of a removed portal is still there")
	}
}

func TestUploadQuotaUsesIndex(t *testing.T) {
	sqliteOnly(t)
	s := openTest(t)
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT COALESCE(SUM(size), 0) FROM upload_slots
		WHERE agent_id = 1 AND (uploaded_at IS NOT NULL OR expires_at > 5)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		rows.Scan(&id, &parent, &notused, &detail)
		if !strings.Contains(detail, "upload_slots_agent") {
			t.Errorf("quota query: %s", detail)
		}
	}
}
