package bridge

import (
	"context"
	"strings"

	"jabberdesk/store"
)

// This file holds files in chats (docs/CHATS.md §5.4): a web visitor's
// attachment and a channel customer's file (fetched into the upload
// store by bridge/im) reach agents as their address with XEP-0066
// out-of-band data, which clients show inline; an agent's message that
// is the address of a file in our upload store reaches the visitor as a
// file, and a channel customer as the provider's file message. A file's
// event keeps its text as the transcript shows it: the person's words,
// then one line per file naming it with its address (fileLine).

// Files is what the bridge needs of the upload store (package uploads).
type Files interface {
	// URL is the public address of the file of a slot.
	URL(id, filename string) string
	// Find returns the slot whose file an address names, when it is an
	// address of the upload store.
	Find(ctx context.Context, url string) (store.UploadSlot, bool)
}

// File is a file in a chat: in an event (Event.Files) and in a message
// to an agent (Message.Attachment).
type File struct {
	URL  string `json:"url,omitempty"`
	Name string `json:"name"`
	MIME string `json:"mime,omitempty"`
	// Kind is what the provider called a customer's file (image,
	// sticker, …), when its type is not known.
	Kind string `json:"kind,omitempty"`
	// Error says why a customer's file could not be fetched (URL is
	// then empty).
	Error string `json:"error,omitempty"`
}

// label names what the file is: Image, Video, Audio, Sticker, File.
func (f File) label() string {
	kind, _, _ := strings.Cut(strings.ToLower(f.MIME), "/")
	if f.MIME == "" || f.Kind == "sticker" {
		kind = f.Kind
	}
	switch kind {
	case "image", "video", "audio", "sticker":
		return strings.ToUpper(kind[:1]) + kind[1:]
	}
	return "File"
}

// title names the file: "Image: photo.jpg".
func (f File) title() string {
	if name := singleLine(f.Name); name != "" {
		return f.label() + ": " + name
	}
	return f.label()
}

// line is the file's line in the transcript: its title and address, or
// why it could not be fetched.
func (f File) line() string {
	if f.Error != "" {
		return f.title() + " (could not be fetched: " + singleLine(f.Error) + ")"
	}
	return f.title() + " " + f.URL
}

// fileText is the text of an event with files: the words, then a line
// per file.
func fileText(words string, files []File) string {
	lines := []string{}
	if words != "" {
		lines = append(lines, words)
	}
	for _, f := range files {
		lines = append(lines, f.line())
	}
	return strings.Join(lines, "\n")
}

// words is the text of an event without its files' lines.
func (ev Event) words() string {
	if len(ev.Files) == 0 {
		return ev.Text
	}
	lines := strings.Split(ev.Text, "\n")
	return strings.Join(lines[:max(len(lines)-len(ev.Files), 0)], "\n")
}

// relayVisitor sends agent a visitor's or customer's event: their words,
// then each file as its address with out-of-band data, or as a line
// saying why it could not be fetched.
func (c *Chat) relayVisitor(agent string, ev Event, state string) {
	side := c.e.agentsSide()
	if words := ev.words(); words != "" || len(ev.Files) == 0 {
		side.Message(c.portal, agent, Message{From: c.local, Body: Unforgeable(words), ChatState: state})
		state = ""
	}
	for _, f := range ev.Files {
		if f.Error != "" {
			side.Message(c.portal, agent, Message{From: c.local, Body: SystemPrefix + "The customer sent a file that could not be fetched: " +
				f.title() + " (" + singleLine(f.Error) + ").", ChatState: state, System: true})
		} else {
			f := f
			side.Message(c.portal, agent, Message{From: c.local, Body: f.URL, Attachment: &f, ChatState: state})
		}
		state = ""
	}
}

// ownFile is the file an agent's message names when the message is
// nothing but the address of a file in the upload store, of the chat's
// portal.
func (c *Chat) ownFile(body string) (File, bool) {
	if c.e.cfg.Files == nil {
		return File{}, false
	}
	slot, ok := c.e.cfg.Files.Find(c.ctx(), body)
	if !ok || slot.Portal != c.portal {
		return File{}, false
	}
	return File{URL: c.e.cfg.Files.URL(slot.ID, slot.Filename), Name: slot.Filename, MIME: slot.ContentType}, true
}

// keptFile is a file of the upload store as a chat shows it.
func (e *Engine) keptFile(f store.KeptFile) File {
	url := ""
	if e.cfg.Files != nil {
		url = e.cfg.Files.URL(f.ID, f.Name)
	}
	return File{URL: url, Name: f.Name, MIME: f.MIME}
}

// SayFile is a visitor's file, kept in the upload store and recorded for
// the chat (store.AddChatFile). It returns once the message is stored.
func (v *VisitorChat) SayFile(ctx context.Context, f store.KeptFile, clientID string) error {
	if len(clientID) > 64 {
		clientID = clientID[:64]
	}
	r := v.call()
	r.File, r.ClientID = &f, clientID
	if _, done, err := forward[visitorCall, none](ctx, v.e, v.info.Portal, kindSayFile, r); done {
		return err
	}
	files := []File{v.e.keptFile(f)}
	return v.live(ctx, func(c *Chat) error {
		return c.visitorMessage(Event{Type: EventVisitorMessage, Text: fileText("", files), Files: files, ClientID: clientID})
	})
}

// Ready says whether a visitor's message would be taken now: nil,
// ErrChatEnded, or ErrAgentBusy while an agent in the chat is not keeping
// up. The API asks before it takes a file in.
func (v *VisitorChat) Ready(ctx context.Context) error {
	if _, done, err := forward[visitorCall, none](ctx, v.e, v.info.Portal, kindReady, v.call()); done {
		return err
	}
	return v.live(ctx, func(c *Chat) error {
		if c.agentBusy() {
			return ErrAgentBusy
		}
		return nil
	})
}
