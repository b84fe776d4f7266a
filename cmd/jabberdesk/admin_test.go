package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
)

// healthz asks h for /healthz and decodes the answer.
func healthz(t *testing.T, h http.Handler, ctx context.Context) (int, healthReport) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil).WithContext(ctx))
	var rep healthReport
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("healthz body %q: %v", rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return rec.Code, rep
}

// /healthz answers 200 while the store answers, and 503 naming the store
// once it does not.
func TestHealthzStore(t *testing.T) {
	t.Parallel()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{store: st}
	h := healthHandler(st.Engine(), func() int64 { return 3 }, a.healthChecks())
	code, rep := healthz(t, h, context.Background())
	if code != http.StatusOK || rep.Status != "ok" || rep.Engine != "sqlite" || rep.Sessions != 3 || rep.Error != "" ||
		len(rep.Checks) != 1 || rep.Checks[0] != (healthResult{Name: "store", OK: true}) {
		t.Errorf("healthy: %d %+v", code, rep)
	}
	st.Close()
	code, rep = healthz(t, h, context.Background())
	if code != http.StatusServiceUnavailable || rep.Status != "failing" || rep.Engine != "sqlite" ||
		!strings.HasPrefix(rep.Error, "store: ping ") || !strings.Contains(rep.Error, "database is closed") ||
		len(rep.Checks) != 1 || rep.Checks[0].OK || rep.Checks[0].Error != rep.Error {
		t.Errorf("store closed: %d %+v", code, rep)
	}
}

// Checks run side by side, each named in the answer; one that does not
// answer in time fails, and the others are still reported.
func TestHealthzChecks(t *testing.T) {
	t.Parallel()
	checks := []healthCheck{
		{name: "store", check: func(context.Context) error { return nil }},
		{name: "nats", check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		{name: "disk", check: func(context.Context) error { return errorString("disk: 99% full") }},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	code, rep := healthz(t, healthHandler("postgres", func() int64 { return 0 }, checks), ctx)
	if code != http.StatusServiceUnavailable || rep.Engine != "postgres" || len(rep.Checks) != 3 ||
		!rep.Checks[0].OK || rep.Checks[1].Error != "nats: no answer in time: context deadline exceeded" || rep.Checks[2].Error != "disk: 99% full" ||
		rep.Error != "nats: no answer in time: context deadline exceeded; disk: 99% full" {
		t.Errorf("%d %+v", code, rep)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
