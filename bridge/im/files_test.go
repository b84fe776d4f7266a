package im

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"jabberdesk/address"
	"jabberdesk/bridge"
	"jabberdesk/channels"
	"jabberdesk/internal/testwait"
	"jabberdesk/store"
	"jabberdesk/uploads"
)

// agentsHeard stands for the XMPP server: fiona.b is online and what she
// is sent is kept.
type agentsHeard struct {
	mu   sync.Mutex
	msgs []bridge.Message
}

func (a *agentsHeard) Availability(_, agent string) bridge.Availability {
	if agent == "fiona.b" {
		return bridge.Online
	}
	return bridge.Offline
}
func (a *agentsHeard) Contact(string, string, bridge.Contact) {}
func (a *agentsHeard) Busy(string, string) bool               { return false }
func (a *agentsHeard) Message(_, _ string, m bridge.Message) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.msgs = append(a.msgs, m)
	return true
}

// heard returns the messages with a body so far.
func (a *agentsHeard) heard() []bridge.Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []bridge.Message
	for _, m := range a.msgs {
		if m.Body != "" {
			out = append(out, m)
		}
	}
	return out
}

// engineFixture runs the real chat engine behind the Service, with an
// upload store of at most maxFile bytes a file.
type engineFixture struct {
	*fixture
	engine *bridge.Engine
	agents *agentsHeard
	files  *uploads.Store
}

func newEngineFixture(t *testing.T, typ channels.Type, maxFile int64, run bool) *engineFixture {
	t.Helper()
	ef := &engineFixture{agents: &agentsHeard{}}
	ef.fixture = newFixtureWith(t, typ, false, func(f *fixture, cfg *Config) {
		ctx := context.Background()
		if _, err := f.st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: "fiona.b", Email: "fiona@acme.example", Password: "password1"}, "test"); err != nil {
			t.Fatal(err)
		}
		ef.files = uploads.New(uploads.Config{Dir: filepath.Join(t.TempDir(), "uploads"), Store: f.st, Limits: store.UploadLimits{MaxFileSize: maxFile}})
		ef.files.SetBaseURL("https://chat.example.test")
		ef.engine = bridge.New(bridge.Config{Domain: "chat.example.test", Files: ef.files}, f.st, slog.New(slog.DiscardHandler))
		ef.engine.Attach(ef.agents)
		if err := ef.engine.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ef.engine.Stop)
		cfg.Desk, cfg.Files = ef.engine, ef.files
	})
	if run {
		ef.run(t)
	}
	return ef
}

// accept is fiona answering y to the offer of the customer's chat.
func (ef *engineFixture) accept(t *testing.T) {
	t.Helper()
	var chat store.Chat
	testwait.For(t, "the chat", func() bool {
		cs, _ := ef.st.Chats(context.Background(), "acme", "", 10)
		if len(cs) == 0 {
			return false
		}
		chat = cs[0]
		return true
	})
	err := ef.engine.AgentSays("acme", bridge.AgentInfo{Key: "fiona.b", Name: "Fiona"}, address.VisitorName(chat.Number), "y", "")
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor returns the first message fiona heard that contains text.
func (ef *engineFixture) waitFor(t *testing.T, text string) bridge.Message {
	t.Helper()
	var got bridge.Message
	testwait.For(t, "a message with "+text, func() bool {
		for _, m := range ef.agents.heard() {
			if strings.Contains(m.Body, text) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// served is what the upload store has under a file's address.
func (ef *engineFixture) served(t *testing.T, url string) []byte {
	t.Helper()
	slot, ok := ef.files.Find(context.Background(), url)
	if !ok {
		t.Fatalf("%s is no file of the upload store", url)
	}
	f, err := ef.files.Open(slot.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return b
}

var picture = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 200)...)

// A customer's picture is fetched from the provider into the upload store
// and reaches the agent as its address with the file; the caption is
// the chat's question, and the transcript names the file.
func TestCustomerFileReachesTheAgent(t *testing.T) {
	for _, typ := range []channels.Type{channels.Telegram, channels.WhatsApp, channels.LINE, channels.Messenger} {
		t.Run(string(typ), func(t *testing.T) {
			ef := newEngineFixture(t, typ, 1<<20, true)
			user := "4915112345678"
			a := ef.fake.AddFile(picture, "image/png", "parcel.png")
			body := ef.fake.FileMessage(user, "Ann", a, "The parcel is broken")
			if code := ef.post(t, body, ef.fake.Sign(body)); code != http.StatusOK {
				t.Fatalf("webhook %d", code)
			}
			ef.waitFor(t, "asks")
			ef.accept(t)
			m := ef.waitFor(t, "https://chat.example.test/upload/")
			if m.Attachment == nil || m.Attachment.URL != m.Body || m.Attachment.MIME != "image/png" || m.System {
				t.Fatalf("the file came as %+v %+v", m, m.Attachment)
			}
			if got := ef.served(t, m.Body); !bytes.Equal(got, picture) {
				t.Errorf("the address serves %d bytes, not the picture", len(got))
			}
			chats, _ := ef.st.Chats(context.Background(), "acme", "", 10)
			if typ != channels.Messenger && typ != channels.LINE && chats[0].Question != "The parcel is broken" {
				t.Errorf("question %q", chats[0].Question)
			}
			evs, _ := ef.st.ChatEvents(context.Background(), chats[0].ID, 0, false, 0)
			if len(evs) == 0 || !strings.Contains(evs[0].Text, "Image: ") || !strings.Contains(evs[0].Text, m.Body) {
				t.Errorf("transcript %+v", evs)
			}
		})
	}
}

// A file that cannot be fetched is a clear line for the agent, and the
// message's text still arrives: too large, refused by the provider, or
// failing for now until the tries run out.
func TestCustomerFileNotFetched(t *testing.T) {
	ef := newEngineFixture(t, channels.Telegram, 100, true)
	big := ef.fake.AddFile(picture, "image/png", "big.png")
	body := ef.fake.FileMessage("777", "Ann", big, "see the picture")
	if code := ef.post(t, body, ef.fake.Sign(body)); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	ef.waitFor(t, "see the picture")
	ef.accept(t)
	line := ef.waitFor(t, "could not be fetched")
	if !line.System || !strings.HasPrefix(line.Body, bridge.SystemPrefix+"The customer sent a file that could not be fetched: Image") ||
		!strings.Contains(line.Body, "larger than the 100 bytes") {
		t.Errorf("line %+v", line)
	}
	gone := big
	gone.ID, gone.Size = "BQACAgIAAxkBAAInotthere", 10
	body = ef.fake.FileMessage("777", "Ann", gone, "")
	if code := ef.post(t, body, ef.fake.Sign(body)); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	if line := ef.waitFor(t, "Telegram refused it"); !line.System {
		t.Errorf("refused: %+v", line)
	}

	// A Messenger CDN that keeps failing: tried a bounded number of times.
	mf := newEngineFixture(t, channels.Messenger, 1<<20, true)
	var tries atomic.Int32
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(cdn.Close)
	body = mf.fake.FileMessage("555", "Ann", channels.Attachment{Kind: "image", URL: cdn.URL + "/x.png"}, "")
	mf.post(t, body, mf.fake.Sign(body))
	mf.waitFor(t, "asks")
	mf.accept(t)
	if line := mf.waitFor(t, "after 5 tries"); !line.System {
		t.Errorf("line %+v", line)
	}
	if n := tries.Load(); n != maxFetchFailures {
		t.Errorf("tried %d times, want %d", n, maxFetchFailures)
	}
}

// A file fetched before a crash is recorded with the stored message: the
// delivery after the restart shows it without fetching it again, once.
func TestCustomerFileFetchedBeforeACrash(t *testing.T) {
	ef := newEngineFixture(t, channels.Telegram, 1<<20, false)
	ctx := context.Background()
	a := ef.fake.AddFile(picture, "image/png", "")
	in, _, err := ef.st.StoreInbound(ctx, ef.ch.ID, store.InboundMessage{ProviderMessageID: "m1", CustomerID: "777", Name: "Ann",
		Attachments: []store.InboundAttachment{{Ref: a.ID, Kind: "image", MIME: "image/png", Size: a.Size}}})
	if err != nil {
		t.Fatal(err)
	}
	// The first run fetched the file, then stopped before delivering.
	if ready, err := ef.svc.fetchFiles(ctx, &in); err != nil || !ready {
		t.Fatalf("fetch: %v %v", ready, err)
	}
	ef.run(t)
	ef.waitFor(t, "asks")
	ef.accept(t)
	m := ef.waitFor(t, "https://chat.example.test/upload/")
	if m.Attachment == nil || m.Attachment.Name != "file.png" {
		t.Errorf("the file came as %+v", m)
	}
	fetched := 0
	for _, r := range ef.fake.Requests() {
		if r.Endpoint == "file" {
			fetched++
		}
	}
	files := 0
	for _, h := range ef.agents.heard() {
		if h.Attachment != nil {
			files++
		}
	}
	if fetched != 1 || files != 1 {
		t.Errorf("fetched %d times, shown %d times", fetched, files)
	}
}
