package bridge

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"jabberdesk/store"
	"jabberdesk/uploads"
)

// withFiles gives the desk an upload store at https://chat.example.test.
func (d *deskTest) withFiles() *uploads.Store {
	d.t.Helper()
	up := uploads.New(uploads.Config{Dir: filepath.Join(d.t.TempDir(), "uploads"), Store: d.st})
	up.SetBaseURL("https://chat.example.test")
	d.e.cfg.Files = up
	return up
}

// keep puts a PNG in the upload store for the chat, as the visitor API
// does.
func (tc testChat) keep(up *uploads.Store, name string) store.KeptFile {
	tc.d.t.Helper()
	f, err := up.Keep(name, "image/png", bytes.NewReader([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")))
	if err == nil {
		f, err = tc.d.st.AddChatFile(tc.d.ctx, tc.stored().ID, f, -1)
	}
	if err != nil {
		tc.d.t.Fatal(err)
	}
	return f
}

// lastMessage is the last message an agent was sent.
func (d *deskTest) lastMessage(agent string) Message {
	d.agents.mu.Lock()
	defer d.agents.mu.Unlock()
	ms := d.agents.messages[agent]
	if len(ms) == 0 {
		return Message{}
	}
	return ms[len(ms)-1]
}

// A visitor's file reaches the agents as its address with the file, and
// the transcript names it with its address; one sent while the chat
// waits comes with the replay at accept.
func TestVisitorFileReachesAgents(t *testing.T) {
	d := newDeskTest(t)
	up := d.withFiles()
	fiona := d.agent(store.NewAgent{Username: "fiona.b"}, true)
	tc := d.chat(NewChat{}, false)
	v, err := d.e.Visitor(d.ctx, tc.ChatID, tc.Token)
	if err != nil {
		t.Fatal(err)
	}
	early := tc.keep(up, "early.png")
	if err := v.SayFile(d.ctx, early, "c1"); err != nil {
		t.Fatal(err)
	}
	tc.says(fiona, "y")
	earlyURL := up.URL(early.ID, early.Name)
	if m := d.lastMessage("fiona.b"); m.Body != earlyURL || m.Attachment == nil || m.Attachment.Name != "early.png" || m.System {
		t.Errorf("replayed %+v", m)
	}
	f := tc.keep(up, "screen shot.png")
	if err := v.SayFile(d.ctx, f, "c2"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	url := up.URL(f.ID, f.Name)
	m := d.lastMessage("fiona.b")
	if m.Body != url || m.Attachment == nil || *m.Attachment != (File{URL: url, Name: "screen shot.png", MIME: "image/png"}) || m.ChatState != "active" {
		t.Errorf("agent got %+v %+v", m, m.Attachment)
	}
	tc.mustSee("visitor_message:Image: screen shot.png " + url)
	evs, err := v.Events(d.ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if len(last.Files) != 1 || last.Files[0].URL != url || last.ClientID != "c2" || last.words() != "" {
		t.Errorf("the visitor's event %+v", last)
	}
}

// An agent's message that is the address of one of our files sends the
// visitor the file; any other address stays text.
func TestAgentSharesAFile(t *testing.T) {
	d := newDeskTest(t)
	up := d.withFiles()
	fiona := d.agent(store.NewAgent{Username: "fiona.b"}, true)
	george := d.agent(store.NewAgent{Username: "george.w"}, true)
	tc := d.chat(NewChat{}, false)
	tc.says(fiona, "y")
	tc.says(fiona, "#i george.w")
	tc.says(george, "y")
	f := tc.keep(up, "manual.png")
	url := up.URL(f.ID, f.Name)
	tc.says(fiona, " "+url+" ")
	tc.mustSee("message:Image: manual.png " + url)
	tc.says(fiona, "https://chat.example.test/upload/"+f.ID+"/other.png")
	tc.says(fiona, "see "+url)
	saw := strings.Join(tc.visitorSaw(), "\n")
	if !strings.Contains(saw, "message:https://chat.example.test/upload/"+f.ID+"/other.png") || !strings.Contains(saw, "message:see "+url) {
		t.Errorf("addresses that are not a file alone: %s", saw)
	}
	v, _ := d.e.Visitor(d.ctx, tc.ChatID, tc.Token)
	evs, _ := v.Events(d.ctx, 0, 0)
	files := 0
	for _, ev := range evs {
		if ev.Type == EventMessage && len(ev.Files) > 0 {
			files++
			if ev.Files[0] != (File{URL: url, Name: "manual.png", MIME: "image/png"}) || ev.From != "fiona.b" {
				t.Errorf("file event %+v", ev)
			}
		}
	}
	if files != 1 {
		t.Errorf("%d file events, want 1", files)
	}
	d.mustHear("george.w", "[fiona.b] "+url)
}
