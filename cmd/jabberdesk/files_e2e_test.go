package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

// upload is an agent's XEP-0363 upload: a slot from upload.localhost,
// the PUT; it returns the file's GET URL.
func upload(t *testing.T, c *xmpptest.Client, name, ct string, data []byte) string {
	t.Helper()
	id := "up-" + name
	c.Send(fmt.Sprintf("<iq type='get' id='%s' to='upload.localhost'><request xmlns='urn:xmpp:http:upload:0' filename='%s' size='%d' content-type='%s'/></iq>",
		id, name, len(data), ct))
	slot := c.Expect("slot", xmpptest.IQ(id))
	puts, gets := slot.Find("slot/put"), slot.Find("slot/get")
	if len(puts) != 1 || len(gets) != 1 {
		t.Fatalf("slot %+v", slot)
	}
	req, _ := http.NewRequest("PUT", puts[0].Attr("url"), bytes.NewReader(data))
	req.Header.Set("Content-Type", ct)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %v %v", res, err)
	}
	res.Body.Close()
	return gets[0].Attr("url")
}

// shareFile is a message sharing a file the way Conversations does: the
// address as the body and as out-of-band data.
func shareFile(to, url string) string {
	return "<message type='chat' to='" + to + "'><body>" + url + "</body><x xmlns='jabber:x:oob'><url>" + url + "</url></x></message>"
}

// fetch GETs a URL and returns its body and Content-Type.
func fetch(t *testing.T, url string) ([]byte, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return b, res.Header.Get("Content-Type")
}

// A Telegram customer's picture reaches the agent's Jabber client as its
// address with out-of-band data, and the address serves the picture; the
// agent's own picture and PDF, uploaded with XEP-0363, reach the customer
// as Telegram file messages with their addresses.
func TestChannelFilesBothWays(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	fiona := r.loginWithRoster(t, "fiona.demo")
	fake := channelstest.New(t, channels.Telegram)
	_, hook := r.addChannel(t, fake, "shop-tg")
	user := channelstest.UserID(channels.Telegram)
	picture := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{9}, 500)...)
	a := fake.AddFile(picture, "image/png", "")
	if code := fake.PostSigned(t, hook, fake.FileMessage(user, "Ana Lima", a, "It arrived broken")); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	offer := fiona.Expect("offer", xmpptest.Message("demo|v-", "It arrived broken"))
	contact := strings.SplitN(offer.Attr("from"), "/", 2)[0]
	fiona.Send(chatMsg(contact, "y"))
	got := fiona.Expect("the picture", xmpptest.Message(contact, "/upload/"))
	urls := got.Find("x/url")
	if len(urls) != 1 || urls[0].Text != got.Body() || len(got.Find("x/desc")) != 1 {
		t.Fatalf("no out-of-band data: %+v", got)
	}
	if data, ct := fetch(t, got.Body()); !bytes.Equal(data, picture) || ct != "image/png" {
		t.Errorf("the address serves %d bytes of %s", len(data), ct)
	}

	photo := upload(t, fiona, "label.png", "image/png", picture)
	fiona.Send(shareFile(contact, photo))
	pdf := upload(t, fiona, "invoice.pdf", "application/pdf", []byte("%PDF-1.4\n%%EOF\n"))
	fiona.Send(chatMsg(contact, pdf))
	fiona.Send(chatMsg(contact, "https://example.com/upload/not-ours.png"))
	testwait.For(t, "three messages at the provider", func() bool { return len(fake.Sent()) == 3 })
	sent := fake.Sent()
	if sent[0].Endpoint != "sendPhoto" || sent[0].JSON["photo"] != photo {
		t.Errorf("the picture went as %s %v", sent[0].Endpoint, sent[0].JSON)
	}
	if sent[1].Endpoint != "sendDocument" || sent[1].JSON["document"] != pdf {
		t.Errorf("the PDF went as %s %v", sent[1].Endpoint, sent[1].JSON)
	}
	if sent[2].Endpoint != "sendMessage" || sent[2].JSON["text"] != "https://example.com/upload/not-ours.png" {
		t.Errorf("another site's address went as %s %v", sent[2].Endpoint, sent[2].JSON)
	}
}
