package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"jabberdesk/bridge"
)

// wantError checks a JSON error answer's status and code.
func wantError(t *testing.T, res *http.Response, status int, code, what string) {
	t.Helper()
	body := expectStatus(t, res, status, what)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("%s: %s, want code %s", what, body, code)
	}
}

// A visitor rates a chat once it has ended, once, with the chat's token;
// what breaks a rule is refused and reaches nobody.
func TestRating(t *testing.T) {
	f := newAPIFixture(t, Limits{})
	id, token := f.chat(t)
	path := "/api/v1/chats/" + id + "/rating"
	wantError(t, f.post(t, path, token, `{"stars":4}`), http.StatusConflict, "chat_live", "a rating while the chat goes on")

	body := expectStatus(t, f.post(t, "/api/v1/chats/"+id+"/end", token, ``), http.StatusOK, "end")
	var ended struct {
		Status string `json:"status"`
		Rate   bool   `json:"rate"`
	}
	if err := json.Unmarshal(body, &ended); err != nil || ended.Status != "ended" || !ended.Rate {
		t.Fatalf("the end answers %s", body)
	}

	wantError(t, f.post(t, path, "", `{"stars":4}`), http.StatusUnauthorized, "bad_token", "no token")
	wantError(t, f.post(t, path, "wrong", `{"stars":4}`), http.StatusUnauthorized, "bad_token", "a wrong token")
	wantError(t, f.post(t, "/api/v1/chats/nope/rating", token, `{"stars":4}`), http.StatusNotFound, "not_found", "another chat")
	for _, bad := range []struct{ body, code string }{
		{`{"stars":0}`, "bad_request"},
		{`{"stars":6}`, "bad_request"},
		{`{"stars":-1}`, "bad_request"},
		{`{"stars":4.5}`, "bad_json"},
		{`{"stars":"4"}`, "bad_json"},
		{`{"comment":"no stars"}`, "missing_field"},
		{`{"stars":3,"comment":"` + strings.Repeat("é", 501) + `"}`, "bad_request"},
		{`stars=4`, "bad_json"},
	} {
		wantError(t, f.post(t, path, token, bad.body), http.StatusBadRequest, bad.code, bad.body)
	}
	wantError(t, f.post(t, path, token, `{"stars":4,"comment":"`+strings.Repeat("x", 20<<10)+`"}`),
		http.StatusRequestEntityTooLarge, "too_large", "a body over the limit")
	if n := f.agents.told("Rated"); n != 0 {
		t.Fatalf("%d refused ratings reached the agent", n)
	}

	res := f.post(t, path, token, `{"stars":4,"comment":"Quick\nand kind","extra":true}`)
	if body := expectStatus(t, res, http.StatusCreated, "a rating"); !strings.Contains(string(body), `"rated"`) {
		t.Fatalf("answer %s", body)
	}
	if n := f.agents.told(bridge.SystemPrefix + "Rated 4/5: Quick and kind"); n != 1 {
		t.Fatalf("the agent was told the rating %d times", n)
	}
	wantError(t, f.post(t, path, token, `{"stars":5}`), http.StatusConflict, "already_rated", "a second rating")
}

// A chat nobody took takes no rating; the end does not ask.
func TestRatingOfUnattendedChat(t *testing.T) {
	f := newAPIFixture(t, Limits{})
	res := f.post(t, "/api/v1/chats", "", `{"portal":"acme","name":"Bob","question":"Anyone?"}`)
	var started bridge.Started
	if err := json.Unmarshal(expectStatus(t, res, http.StatusCreated, "new chat"), &started); err != nil {
		t.Fatal(err)
	}
	body := expectStatus(t, f.post(t, "/api/v1/chats/"+started.ChatID+"/end", started.Token, ``), http.StatusOK, "end")
	if strings.Contains(string(body), "rate") {
		t.Fatalf("the end of an unattended chat answers %s", body)
	}
	wantError(t, f.post(t, "/api/v1/chats/"+started.ChatID+"/rating", started.Token, `{"stars":1}`),
		http.StatusConflict, "not_rateable", "a rating of a chat nobody took")
}

// Ratings count against the address's request rate like every request
// about a chat.
func TestRatingIsRateLimited(t *testing.T) {
	f := newAPIFixture(t, Limits{RequestRate: 0.01, RequestBurst: 4})
	id, token := f.chat(t)
	path := "/api/v1/chats/" + id + "/rating"
	for range 4 {
		wantError(t, f.post(t, path, token, `{"stars":9}`), http.StatusBadRequest, "bad_request", "a bad rating")
	}
	res := f.post(t, path, token, `{"stars":4}`)
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	wantError(t, res, http.StatusTooManyRequests, "rate_limited", "a rating over the address's rate")
}
