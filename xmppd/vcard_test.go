package xmppd

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"testing"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

// getVCard asks for the vCard of to ("" for the own one).
func getVCard(c *xmpptest.Client, id, to string) xmpptest.Node {
	attr := ""
	if to != "" {
		attr = " to='" + to + "'"
	}
	c.Send("<iq type='get' id='" + id + "'" + attr + "><vCard xmlns='vcard-temp'/></iq>")
	return c.Expect("vCard "+id, xmpptest.IQ(id))
}

// setVCard sends a vCard set with the inner XML to to ("" for none).
func setVCard(c *xmpptest.Client, id, to, inner string) xmpptest.Node {
	attr := ""
	if to != "" {
		attr = " to='" + to + "'"
	}
	c.Send("<iq type='set' id='" + id + "'" + attr + "><vCard xmlns='vcard-temp'>" + inner + "</vCard></iq>")
	return c.Expect("vCard set "+id, xmpptest.IQ(id))
}

// card returns a vCard result's fields: "FN", "EMAIL/USERID", "ORG/ORGUNIT"
// (joined with commas), ...
func card(t *testing.T, res xmpptest.Node) map[string]string {
	t.Helper()
	v, ok := res.Child("vCard")
	if res.Attr("type") != "result" || !ok || v.XMLName.Space != nsVCard {
		t.Fatalf("want a vCard, got %+v", res)
	}
	out := map[string]string{}
	for _, f := range v.Nodes {
		if len(f.Nodes) == 0 {
			out[f.XMLName.Local] = f.Text
			continue
		}
		for _, sub := range f.Nodes {
			k := f.XMLName.Local + "/" + sub.XMLName.Local
			if out[k] != "" {
				out[k] += ","
			}
			out[k] += sub.Text
		}
	}
	return out
}

func TestVCardGet(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	george := env.login("george.w", "desk", true)

	own := card(t, getVCard(fiona, "v1", ""))
	for k, want := range map[string]string{
		"FN": "Fiona", "EMAIL/USERID": "fiona@acme.example", "ROLE": "agent", "JABBERID": jidOf("fiona.b"),
		"ORG/ORGNAME": "acme", "ORG/ORGUNIT": "Support",
	} {
		if own[k] != want {
			t.Errorf("own vCard %s = %q, want %q (%v)", k, own[k], want, own)
		}
	}
	if _, ok := own["NICKNAME"]; ok {
		t.Errorf("a nickname nobody set: %v", own)
	}
	// The same at the own bare JID.
	if got := card(t, getVCard(fiona, "v2", jidOf("fiona.b"))); got["FN"] != "Fiona" {
		t.Errorf("own vCard at the bare JID: %v", got)
	}
	colleague := card(t, getVCard(fiona, "v3", jidOf("irene.k")))
	if colleague["FN"] != "Irene" || colleague["ROLE"] != "supervisor" || colleague["EMAIL/USERID"] != "irene@acme.example" || colleague["ORG/ORGUNIT"] != "Support" {
		t.Errorf("colleague vCard %v", colleague)
	}
	if got := card(t, getVCard(fiona, "v4", deskJID)); got["FN"] != "Desk" {
		t.Errorf("desk vCard %v", got)
	}
	if got := card(t, getVCard(fiona, "v5", "acme|board@"+testDomain)); got["FN"] != "Message board" {
		t.Errorf("board vCard %v", got)
	}

	// A visitor in fiona's roster (the chat is offered to Support).
	number := env.newChat("Ann", "My order is late")
	visitor := "acme|v-" + strconv.FormatInt(number, 10) + "@" + testDomain
	testwait.For(t, "the offer to fiona", func() bool { return len(env.bridge.Contacts("acme", "fiona.b")) == 1 })
	got := card(t, getVCard(fiona, "v6", visitor))
	if got["FN"] != "Ann (#"+strconv.FormatInt(number, 10)+")" || !strings.Contains(got["NOTE"], "My order is late") {
		t.Errorf("visitor vCard %v", got)
	}
	// Not in george's roster, and no such chat: not found.
	for i, who := range []struct {
		c  *xmpptest.Client
		to string
	}{{george, visitor}, {fiona, "acme|v-999999@" + testDomain}} {
		id := "nf" + strconv.Itoa(i)
		res := getVCard(who.c, id, who.to)
		if e, _ := res.Child("error"); res.Attr("type") != "error" || len(e.Find("item-not-found")) != 1 {
			t.Errorf("%s: %+v", who.to, res)
		}
	}
	// Another portal's agent does not exist from here.
	if res := getVCard(fiona, "v7", "globex|hank.s@"+testDomain); res.Attr("type") != "error" {
		t.Errorf("another portal's vCard: %+v", res)
	}
}

// testPNG is a small PNG image.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestVCardSet(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	fiona := env.login("fiona.b", "phone", false)
	george := env.login("george.w", "desk", false)
	photo := testPNG(t)
	b64 := base64.StdEncoding.EncodeToString(photo)

	// A client's full vCard, the directory's fields as they are: all of it
	// is kept; the base64 may be wrapped.
	wrapped := b64[:10] + "\n  " + b64[10:]
	res := setVCard(fiona, "s1", "", "<FN>Fiona</FN><JABBERID>"+jidOf("fiona.b")+"</JABBERID><NICKNAME> Fi </NICKNAME>"+
		"<PHOTO><TYPE>image/png</TYPE><BINVAL>"+wrapped+"</BINVAL></PHOTO><BDAY>1990-05-04</BDAY><TEL><WORK/><VOICE/><NUMBER>+1 555 0100</NUMBER></TEL>"+
		"<EMAIL><HOME/><USERID>fi@home.example</USERID></EMAIL><DESC>Night shift</DESC>")
	if res.Attr("type") != "result" {
		t.Fatalf("set answered %+v", res)
	}
	for i, c := range []*xmpptest.Client{fiona, george} {
		got := card(t, getVCard(c, "g"+strconv.Itoa(i), jidOf("fiona.b")))
		if got["FN"] != "Fiona" || got["NICKNAME"] != "Fi" || got["PHOTO/TYPE"] != "image/png" || got["PHOTO/BINVAL"] != b64 ||
			got["BDAY"] != "1990-05-04" || got["TEL/NUMBER"] != "+1 555 0100" || got["DESC"] != "Night shift" {
			t.Errorf("vCard after the set, seen by %s: %v", c.JID, got)
		}
	}
	full := getVCard(fiona, "g9", "")
	emails := 0
	for _, e := range full.Find("vCard/EMAIL/USERID") {
		if e.Text == "fi@home.example" || e.Text == "fiona@acme.example" {
			emails++
		}
	}
	if emails != 2 {
		t.Errorf("the directory's and the agent's own email: %+v", full)
	}
	v, err := env.st.VCard(t.Context(), "acme", "fiona.b")
	if err != nil || v.Nickname != "Fi" || !bytes.Equal(v.Photo, photo) {
		t.Fatalf("stored %+v %v", v, err)
	}

	// At the own bare JID, without a TYPE (it is sniffed) and without a
	// nickname (cleared: a set replaces the vCard).
	if res := setVCard(fiona, "s2", jidOf("fiona.b"), "<PHOTO><BINVAL>"+b64+"</BINVAL></PHOTO>"); res.Attr("type") != "result" {
		t.Fatalf("set at the bare JID answered %+v", res)
	}
	got := card(t, getVCard(fiona, "g2", ""))
	if _, ok := got["NICKNAME"]; ok || got["PHOTO/TYPE"] != "image/png" {
		t.Errorf("vCard %v", got)
	}

	wantErr := func(res xmpptest.Node, cond string) {
		t.Helper()
		e, _ := res.Child("error")
		text, _ := e.Child("text")
		if res.Attr("type") != "error" || len(e.Find(cond)) != 1 || text.Text == "" {
			t.Errorf("want %s with a text, got %+v", cond, res)
		}
	}
	// Nobody sets anyone else's vCard.
	for i, to := range []string{jidOf("george.w"), deskJID, "acme|board@" + testDomain} {
		wantErr(setVCard(fiona, "f"+strconv.Itoa(i), to, "<NICKNAME>Boss</NICKNAME>"), "forbidden")
	}
	// Photos over 64 KiB, in two sizes (one caught before decoding).
	for i, size := range []int{64<<10 + 1, 80 << 10} {
		big := make([]byte, size)
		rand.Read(big)
		wantErr(setVCard(fiona, "big"+strconv.Itoa(i), "", "<PHOTO><TYPE>image/png</TYPE><BINVAL>"+
			base64.StdEncoding.EncodeToString(big)+"</BINVAL></PHOTO>"), "not-acceptable")
	}
	wantErr(setVCard(fiona, "b64", "", "<PHOTO><TYPE>image/png</TYPE><BINVAL>not*base64!</BINVAL></PHOTO>"), "bad-request")
	wantErr(setVCard(fiona, "pdf", "", "<PHOTO><TYPE>application/pdf</TYPE><BINVAL>"+b64+"</BINVAL></PHOTO>"), "not-acceptable")
	wantErr(setVCard(fiona, "nick", "", "<NICKNAME>"+strings.Repeat("n", 101)+"</NICKNAME>"), "not-acceptable")
	// The directory's fields are the administrators'.
	wantErr(setVCard(fiona, "fn", "", "<FN>Someone Else</FN>"), "not-allowed")
	wantErr(setVCard(fiona, "org", "", "<ORG><ORGNAME>acme</ORGNAME><ORGUNIT>Sales</ORGUNIT></ORG>"), "not-allowed")
	// Text is not a photo, whatever it is called.
	text := base64.StdEncoding.EncodeToString([]byte("<html><body>not a picture</body></html>"))
	wantErr(setVCard(fiona, "txt", "", "<PHOTO><TYPE>image/png</TYPE><BINVAL>"+text+"</BINVAL></PHOTO>"), "not-acceptable")
	// More than 32 KiB besides the photo.
	wantErr(setVCard(fiona, "huge", "", "<DESC>"+strings.Repeat("d", 40<<10)+"</DESC>"), "not-acceptable")
	// None of them changed anything.
	if got := card(t, getVCard(george, "g3", jidOf("fiona.b"))); got["PHOTO/BINVAL"] != b64 {
		t.Errorf("vCard after refused sets: %v", got)
	}
	// An image format not recognised here, declared (AVIF): kept as
	// declared; undeclared: kept as an image of unknown format.
	avif := append([]byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), make([]byte, 64)...)
	a64 := base64.StdEncoding.EncodeToString(avif)
	if res := setVCard(fiona, "avif", "", "<PHOTO><TYPE>image/avif</TYPE><BINVAL>"+a64+"</BINVAL></PHOTO>"); res.Attr("type") != "result" {
		t.Fatalf("a declared AVIF photo: %+v", res)
	}
	if got := card(t, getVCard(george, "g4", jidOf("fiona.b"))); got["PHOTO/TYPE"] != "image/avif" || got["PHOTO/BINVAL"] != a64 {
		t.Errorf("AVIF photo %v", got)
	}
	if res := setVCard(fiona, "avif2", "", "<PHOTO><BINVAL>"+a64+"</BINVAL></PHOTO>"); res.Attr("type") != "result" {
		t.Fatalf("an undeclared photo of an unknown format: %+v", res)
	}
}
