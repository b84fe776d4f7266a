package channels

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestLimitedBody(t *testing.T) {
	for _, c := range []struct {
		size, max int64
		err       error
	}{{10, 10, nil}, {10, 11, nil}, {11, 10, ErrFileTooLarge}, {100000, 10, ErrFileTooLarge}} {
		b := &limitedBody{rc: io.NopCloser(strings.NewReader(strings.Repeat("x", int(c.size)))), left: c.max}
		got, err := io.ReadAll(b)
		if !errors.Is(err, c.err) || int64(len(got)) > c.max {
			t.Errorf("size %d max %d: read %d, %v", c.size, c.max, len(got), err)
		}
	}
}

func TestRetryKey(t *testing.T) {
	const u = "123e4567-e89b-12d3-a456-426614174000"
	if retryKey(u) != u || retryKey(strings.ToUpper(u)) != u {
		t.Errorf("a UUID is kept: %s", retryKey(u))
	}
	a, b := retryKey("outbound-42"), retryKey("outbound-43")
	if !isUUID(a) || a != retryKey("outbound-42") || a == b || a[14] != '5' {
		t.Errorf("derived keys %s %s", a, b)
	}
}

func TestUseReplyToken(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		token string
		age   time.Duration
		want  bool
	}{
		{"tok", 0, true}, {"tok", 49 * time.Second, true}, {"tok", ReplyTokenTTL, false},
		{"tok", 5 * time.Minute, false}, {"", time.Second, false}, {"tok", -time.Minute, false},
	} {
		if got := UseReplyToken(c.token, at, at.Add(c.age)); got != c.want {
			t.Errorf("token %q age %s: %v", c.token, c.age, got)
		}
	}
	if UseReplyToken("tok", time.Time{}, at) {
		t.Error("a token without its receipt time is used")
	}
}

func TestCleanNameAndClip(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd": "passwd", `C:\x\report.pdf`: "report.pdf", "a\x00b\nc.txt": "abc.txt", "..": "", "": "",
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := clip("héllo", 2); got != "h" {
		t.Errorf("clip splits a rune: %q", got)
	}
}
