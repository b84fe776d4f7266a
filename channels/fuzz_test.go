package channels_test

import (
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
)

// fuzzWebhook feeds signed bodies to a provider's Webhook: it must not
// panic, and what it returns must stay within the package's bounds.
func fuzzWebhook(f *testing.F, typ channels.Type, seeds ...string) {
	p, s := provider(f, typ)
	for _, name := range seeds {
		f.Add(load(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := p.Webhook(channelstest.Sign(typ, s, body), body)
		if err != nil {
			if st := channels.WebhookStatus(err); st != 400 && st != 413 {
				t.Fatalf("signed body refused with %d: %v", st, err)
			}
			return
		}
		if len(ev) > channels.MaxEvents {
			t.Fatalf("%d events", len(ev))
		}
		for _, e := range ev {
			if e.MessageID == "" || len(e.MessageID) > 600 || len(e.UserID) > 128 || len(e.Name) > 200 {
				t.Fatalf("ids out of bounds: %+v", e)
			}
			if len(e.Text) > channels.MaxText || len(e.Attachments) > channels.MaxAttachments {
				t.Fatalf("content out of bounds: %d bytes, %d files", len(e.Text), len(e.Attachments))
			}
			if e.Kind == channels.EventMessage && e.UserID == "" {
				t.Fatalf("message without a customer: %+v", e)
			}
			if (e.Kind == channels.EventStatus) != (e.Status != nil) {
				t.Fatalf("status mismatch: %+v", e)
			}
		}
	})
}

func FuzzTelegramUpdate(f *testing.F) {
	fuzzWebhook(f, channels.Telegram, "telegram_text.json", "telegram_photo.json", "telegram_document.json",
		"telegram_edited.json", "telegram_group.json")
}

func FuzzWhatsAppWebhook(f *testing.F) {
	fuzzWebhook(f, channels.WhatsApp, "whatsapp_text.json", "whatsapp_image.json", "whatsapp_document.json",
		"whatsapp_status_failed.json", "whatsapp_status_delivered.json", "whatsapp_reaction.json")
}

func FuzzLINEWebhook(f *testing.F) {
	fuzzWebhook(f, channels.LINE, "line_text.json", "line_image.json", "line_file.json", "line_follow.json",
		"line_unfollow.json", "line_group_and_unknown.json", "line_verify.json")
}

func FuzzMessengerWebhook(f *testing.F) {
	fuzzWebhook(f, channels.Messenger, "messenger_text.json", "messenger_image.json", "messenger_echo_and_read.json")
}

func FuzzInstagramWebhook(f *testing.F) {
	fuzzWebhook(f, channels.Instagram, "instagram_text.json", "instagram_image.json")
}
