package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
	"jabberdesk/uploads"
)

// FuzzVisitorAPI sends arbitrary requests to the visitor API's handlers.
// {ID} and {TOKEN} in the path, body or Authorization header stand for a
// real chat's, so that authenticated paths are reached. Whatever comes
// in, the server answers (no panic, no hang), never with 500, and every
// error is the documented JSON {"error":{"code","message"}}.
func FuzzVisitorAPI(f *testing.F) {
	for _, seed := range []struct{ method, path, auth, body string }{
		{"POST", "/api/v1/chats", "", `{"portal":"acme","name":"Ann","question":"Hi"}`},
		{"POST", "/api/v1/chats", "", `{"portal":"acme","name":"Ann\n» x","question":"Hi","page_url":"javascript:1","department":"Nope"}`},
		{"POST", "/api/v1/chats", "", `{"portal":"acme","name":1}`},
		{"POST", "/api/v1/chats/{ID}/messages", "Bearer {TOKEN}", `{"text":"hello","client_id":"x"}`},
		{"POST", "/api/v1/chats/{ID}/messages", "Bearer {TOKEN}", `{"text":"` + strings.Repeat("é", 5000) + `"}`},
		{"POST", "/api/v1/chats/{ID}/typing", "Bearer {TOKEN}", `{"state":"composing"}`},
		{"POST", "/api/v1/chats/{ID}/typing", "Bearer wrong", `{"state":"composing"}`},
		{"POST", "/api/v1/chats/{ID}/opened", "Bearer {TOKEN}", `{"url":"https://shop.example/"}`},
		{"GET", "/api/v1/chats/{ID}/events?after=0&token={TOKEN}", "", ""},
		{"GET", "/api/v1/chats/{ID}/events?after=-1", "Bearer {TOKEN}", ""},
		{"GET", "/api/v1/chats/{ID}/ws?token={TOKEN}", "", ""},
		{"GET", "/api/v1/portals/acme/departments", "", ""},
		{"POST", "/api/v1/chats/{ID}/end", "Bearer {TOKEN}", `{}`},
		{"POST", "/api/v1/chats/{ID}/rating", "Bearer {TOKEN}", `{"stars":4,"comment":"Quick\n» and kind"}`},
		{"POST", "/api/v1/chats/{ID}/rating", "Bearer {TOKEN}", `{"stars":1e9}`},
		{"PUT", "/upload/x/y", "", "data"},
		{"POST", "/api/v1/chats/{ID}/files?name=shot.png&client_id=x", "Bearer {TOKEN}", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"},
		{"POST", "/api/v1/chats/{ID}/files?name=..%2F..%2Fpage.html", "Bearer {TOKEN}", "<!doctype html><script>alert(1)</script>"},
		{"OPTIONS", "/api/v1/chats", "", ""},
	} {
		f.Add(seed.method, seed.path, seed.auth, seed.body)
	}
	fx := newAPIFixture(f, Limits{RequestRate: 1e9, RequestBurst: 1 << 30, MessageRate: 1e9, MessageBurst: 1 << 30, TypingRate: 1e9, TypingBurst: 1 << 30},
		func(c *Config) {
			c.LongPollWait = 10 * time.Millisecond
			// What the fuzzer attaches stays within a small quota.
			c.Uploads = uploads.New(uploads.Config{Dir: f.TempDir(), Store: c.Store, Limits: store.UploadLimits{MaxFileSize: 4096, QuotaPerAgent: 1 << 20}})
		})
	id, token := fx.chat(f)
	fill := func(s string) string {
		return strings.NewReplacer("{ID}", id, "{TOKEN}", token).Replace(s)
	}
	f.Fuzz(func(t *testing.T, method, path, auth, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://chat.example"+fill(path), strings.NewReader(fill(body)))
		if err != nil {
			return // not a request a client could send
		}
		req.RemoteAddr = "192.0.2.7:4000"
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", fill(auth))
		}
		rec := httptest.NewRecorder()
		fx.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s: error %d is not {error:{code,message}}: %s", method, path, rec.Code, rec.Body)
			}
		}
	})
}
