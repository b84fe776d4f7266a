package xmppd

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzSessionStream feeds arbitrary bytes to a signed-in session that has
// stream management (with resumption) enabled: what follows <enable/> is
// read by the session's stream reader and handled as stanzas and
// nonzas. Whatever comes in, the session ends (no hang) once its
// connection closes, leaves the router, and everything the server wrote
// is well-formed XML.
func FuzzSessionStream(f *testing.F) {
	for _, seed := range []string{
		"<r xmlns='urn:xmpp:sm:3'/>",
		"<a xmlns='urn:xmpp:sm:3' h='4294967295'/><a xmlns='urn:xmpp:sm:3' h='x'/>",
		"<enable xmlns='urn:xmpp:sm:3' resume='true'/><resume xmlns='urn:xmpp:sm:3' previd='x' h='1'/>",
		"<message to='acme|george.w@chat.example.test' type='chat'><body>hi</body><request xmlns='urn:xmpp:receipts'/></message><r xmlns='urn:xmpp:sm:3'/>",
		"<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq><presence/>",
		"<inactive xmlns='urn:xmpp:csi:0'/><active xmlns='urn:xmpp:csi:0'/>",
		"<!DOCTYPE x><message/>",
		"<message>" + strings.Repeat("<x>", 64) + "</message>",
		"<message from='acme|george.w@chat.example.test'/>",
		"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
		"</stream:stream>",
		"<message><body>\x00</body></message>",
		"text between stanzas",
	} {
		f.Add([]byte(seed))
	}
	env := newTestEnv(f, withResume(time.Millisecond), func(c *Config) { c.Limits.StanzaSize = 16 << 10 })
	agent, _, err := env.st.Login(context.Background(), "acme", "fiona.b")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		client, server := net.Pipe()
		c := &conn{srv: env.srv, raw: server, lim: &readLimit{}, ip: "192.0.2.1", key: "192.0.2.1", agent: agent, resource: "fuzz", log: env.srv.log}
		c.nc = &limitConn{Conn: server, lim: c.lim}
		c.lim.reset(env.srv.limits.StanzaSize)
		env.srv.connWG.Add(1)
		env.srv.mu.Lock()
		env.srv.conns[c] = struct{}{}
		env.srv.mu.Unlock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer c.release()
			c.serveSession()
		}()
		var out bytes.Buffer
		read := make(chan struct{})
		go func() { io.Copy(&out, client); close(read) }()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write([]byte("<enable xmlns='urn:xmpp:sm:3' resume='true'/>"))
		client.Write(input)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the session did not end after its connection closed")
		}
		<-read
		deadline := time.Now().Add(10 * time.Second)
		for len(env.srv.router.sessions(jidOf("fiona.b"))) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the session is still in the router")
			}
			time.Sleep(time.Millisecond)
		}
		if err := wellFormed(out.Bytes()); err != nil {
			t.Fatalf("the server wrote %q: %v", out.Bytes(), err)
		}
	})
}

// wellFormed checks what a server wrote on a negotiated stream: stanzas
// and nonzas, possibly a stream error and the end of the stream.
func wellFormed(b []byte) error {
	d := xml.NewDecoder(io.MultiReader(strings.NewReader(streamHeader), bytes.NewReader(b)))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil // the stream ended, or what was written so far is complete
		}
		var se *xml.SyntaxError
		if errors.As(err, &se) && se.Msg == "unexpected EOF" {
			return nil // inside <stream:stream>: the server had not closed it
		}
		if err != nil {
			return err
		}
	}
}
