package xmppd

import (
	"encoding/xml"
	"net"
	"strings"
	"testing"
)

// A bad stream header is answered as RFC 6120 §4.9.1.2 says: our own
// header, from our domain, then the stream error, then the end of the
// stream — never features first.
func TestBadStreamHeadersGetHeaderErrorClose(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	const good = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
	for _, tc := range []struct{ name, send, cond string }{
		{"unknown domain", "<stream:stream to='elsewhere.example' version='1.0' " + good + ">", "host-unknown"},
		{"domain with a localpart", "<stream:stream to='fiona@" + testDomain + "' version='1.0' " + good + ">", "host-unknown"},
		{"not XML", "hello\r\n", "not-well-formed"},
		{"DOCTYPE", "<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY a 'b'>]>", "restricted-xml"},
		{"processing instruction", "<?php echo 1; ?><stream:stream to='" + testDomain + "' version='1.0' " + good + ">", "restricted-xml"},
		{"stream namespace", "<stream:stream to='" + testDomain + "' version='1.0' xmlns='jabber:client' xmlns:stream='urn:example:wrong'>", "invalid-namespace"},
		{"content namespace", "<stream:stream to='" + testDomain + "' version='1.0' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>", "invalid-namespace"},
		{"not a stream", "<message to='" + testDomain + "'><body>hi</body></message>", "invalid-namespace"},
		{"no version", "<stream:stream to='" + testDomain + "' " + good + ">", "unsupported-version"},
		{"encoding", "<?xml version='1.0' encoding='UTF-16'?><stream:stream to='" + testDomain + "' version='1.0' " + good + ">", "unsupported-encoding"},
		{"too long", "<stream:stream to='" + testDomain + "' version='1.0' " + good + " x='" + strings.Repeat("a", 5000) + "'>", "policy-violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", env.startTLS)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte(tc.send))
			got := readUntil(t, conn, "</stream:stream>")
			checkErrorStream(t, got, tc.cond)
		})
	}
}

// checkErrorStream checks that got is exactly a stream header from our
// domain, one stream error with cond, and the end of the stream.
func checkErrorStream(t *testing.T, got, cond string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(got))
	var seq []string
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch el := tok.(type) {
		case xml.StartElement:
			seq = append(seq, "<"+el.Name.Local)
			if el.Name.Local == "stream" {
				for _, a := range el.Attr {
					if a.Name.Local == "from" && a.Value != testDomain {
						t.Errorf("the server calls itself %q, want %q", a.Value, testDomain)
					}
				}
			}
		case xml.EndElement:
			seq = append(seq, "/"+el.Name.Local)
		}
	}
	want := "<stream <error <" + cond + " /" + cond
	if s := strings.Join(seq, " "); !strings.HasPrefix(s, want) || !strings.HasSuffix(s, "/error /stream") || strings.Contains(s, "features") {
		t.Fatalf("answer %q (elements %s), want header, <%s/> stream error, end", got, s, cond)
	}
}
