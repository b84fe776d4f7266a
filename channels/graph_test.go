package channels_test

import (
	"context"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
)

func TestWhatsAppSend(t *testing.T) {
	f := channelstest.New(t, channels.WhatsApp)
	p := f.Provider()
	ctx := context.Background()
	to := customer[channels.WhatsApp]
	r := send(t, p, channels.Message{To: to, Text: "Yes, in blue and red."})
	send(t, p, channels.Message{To: to, Text: "blue", File: &channels.File{URL: "https://files.example/u/1/blue.jpg", MIME: "image/jpeg"}})
	send(t, p, channels.Message{To: to, File: &channels.File{URL: "https://files.example/u/2/terms.pdf", MIME: "application/pdf", Name: "terms.pdf"}})
	send(t, p, channels.Message{To: to, Template: &channels.Template{Name: "order_update", Language: "en_US", Params: []string{"Sheena", "#1182", "tomorrow"}}})
	if err := p.Typing(ctx, to); err != nil {
		t.Fatal(err)
	}

	sent := f.Sent()
	if len(sent) != 4 || len(f.Requests()) != 4 {
		t.Fatalf("sent %d of %d requests (typing must call nothing)", len(sent), len(f.Requests()))
	}
	check(t, "id", r.MessageID, sent[0].MessageID)
	for _, s := range sent {
		check(t, "product", s.JSON["messaging_product"], "whatsapp")
		check(t, "to", s.JSON["to"], to)
		check(t, "bearer", s.Header.Get("Authorization"), "Bearer "+f.Secrets.AccessToken)
		check(t, "path", s.Path, "/"+channels.GraphVersion+"/"+f.PhoneNumberID+"/messages")
	}
	text := sent[0].JSON["text"].(map[string]any)
	check(t, "text", text["body"], "Yes, in blue and red.")
	img := sent[1].JSON["image"].(map[string]any)
	check(t, "image", img["link"].(string)+" "+img["caption"].(string), "https://files.example/u/1/blue.jpg blue")
	doc := sent[2].JSON["document"].(map[string]any)
	check(t, "document", doc["link"].(string)+" "+doc["filename"].(string), "https://files.example/u/2/terms.pdf terms.pdf")
	tpl := sent[3].JSON["template"].(map[string]any)
	check(t, "template", tpl["name"], "order_update")
	check(t, "language", tpl["language"].(map[string]any)["code"], "en_US")
	params := tpl["components"].([]any)[0].(map[string]any)["parameters"].([]any)
	for i, want := range []string{"Sheena", "#1182", "tomorrow"} {
		check(t, "param", params[i].(map[string]any)["text"], want)
	}

	if _, err := p.Profile(ctx, to); err == nil {
		t.Error("whatsapp profile lookup should be unsupported")
	}
	acct, err := p.Check(ctx)
	if err != nil || acct.ID != f.PhoneNumberID || acct.Name == "" {
		t.Errorf("check %+v %v", acct, err)
	}
}

func TestWhatsAppStatusFromFake(t *testing.T) {
	f := channelstest.New(t, channels.WhatsApp)
	p := f.Provider()
	body := f.Status("wamid.X", customer[channels.WhatsApp], "failed", 131047, "Re-engagement message")
	ev, err := p.Webhook(f.Sign(body), body)
	if err != nil || len(ev) != 1 || ev[0].Status.Failure.Kind != channels.OutsideWindow {
		t.Fatalf("%+v %v", ev, err)
	}
}

func TestMetaSend(t *testing.T) {
	for _, typ := range []channels.Type{channels.Messenger, channels.Instagram} {
		t.Run(string(typ), func(t *testing.T) {
			f := channelstest.New(t, typ)
			p := f.Provider()
			ctx := context.Background()
			to := customer[typ]
			send(t, p, channels.Message{To: to, Text: "Hi! How can we help?"})
			r := send(t, p, channels.Message{To: to, Text: "here it is", File: &channels.File{URL: "https://files.example/u/1/map.png", MIME: "image/png"}})
			send(t, p, channels.Message{To: to, File: &channels.File{URL: "https://files.example/u/2/a.zip", MIME: "application/zip"}})
			if err := p.Typing(ctx, to); err != nil {
				t.Fatal(err)
			}
			sent := f.Sent()
			if len(sent) != 4 {
				t.Fatalf("sent %d", len(sent))
			}
			for _, s := range sent {
				check(t, "recipient", s.JSON["recipient"].(map[string]any)["id"], to)
				check(t, "messaging_type", s.JSON["messaging_type"], "RESPONSE")
			}
			check(t, "text", sent[0].JSON["message"].(map[string]any)["text"], "Hi! How can we help?")
			att := sent[1].JSON["message"].(map[string]any)["attachment"].(map[string]any)
			check(t, "attachment type", att["type"], "image")
			check(t, "attachment url", att["payload"].(map[string]any)["url"], "https://files.example/u/1/map.png")
			check(t, "caption after the file", sent[2].JSON["message"].(map[string]any)["text"], "here it is")
			check(t, "result is the caption's id", r.MessageID, sent[2].MessageID)
			file := sent[3].JSON["message"].(map[string]any)["attachment"].(map[string]any)
			check(t, "file type", file["type"], "file")
			reqs := f.Requests()
			typing := reqs[len(reqs)-1]
			check(t, "typing", typing.Endpoint+" "+typing.JSON["sender_action"].(string), "sender_action typing_on")

			f.SetProfile(to, "Rosa Diaz")
			prof, err := p.Profile(ctx, to)
			if err != nil || prof.Name != "Rosa Diaz" {
				t.Errorf("profile %+v %v", prof, err)
			}
			if _, err := p.Profile(ctx, "404"); channels.AsFailure(err) == nil {
				t.Errorf("unknown profile: %v", err)
			}
			acct, err := p.Check(ctx)
			if err != nil || acct.Name != "Acme Support" {
				t.Errorf("check %+v %v", acct, err)
			}
			if _, err := p.Send(ctx, channels.Message{To: to}); channels.AsFailure(err).Kind != channels.ProviderError {
				t.Errorf("empty message: %v", err)
			}
		})
	}
}

func TestInboundFromFakes(t *testing.T) {
	for _, typ := range channels.Types() {
		f := channelstest.New(t, typ)
		p := f.Provider()
		body := f.TextMessage(customer[typ], "Ana Souza", "where is my order?")
		r := f.WebhookRequest("/hooks/abc", body)
		ev, err := p.Webhook(r.Header, body)
		if err != nil || len(ev) != 1 || ev[0].Text != "where is my order?" || ev[0].UserID != customer[typ] {
			t.Errorf("%s: %+v %v", typ, ev, err)
			continue
		}
		if typ == channels.Telegram || typ == channels.WhatsApp {
			check(t, string(typ)+" name", ev[0].Name, "Ana Souza")
		}
		if typ == channels.LINE && ev[0].ReplyToken == "" {
			t.Errorf("line event without reply token")
		}
		if ch, err := p.Handshake(f.HandshakeQuery("42")); typ != channels.Telegram && typ != channels.LINE && (err != nil || ch != "42") {
			t.Errorf("%s handshake %q %v", typ, ch, err)
		}
	}
}
