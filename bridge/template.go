package bridge

import (
	"fmt"
	"strings"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// This file is #tpl: WhatsApp's message templates, the only messages
// WhatsApp takes once the customer last wrote more than 24 hours ago
// (docs/CHATS.md §5.5). An administrator records a channel's templates
// as Meta approved them (jabberdesk template add); an agent lists them
// and sends one with its placeholders {{1}}, {{2}}… filled in.

// templateCommand is #tpl: it lists the approved templates of the
// chat's WhatsApp channel, or sends one to the customer.
func (c *Chat) templateCommand(by *member, cmd commands.Command) (string, error) {
	if why := c.templatesRefusal(); why != "" {
		return "", refuse(why)
	}
	list, err := c.e.store.Templates(c.ctx(), c.info.ChannelID)
	if err != nil {
		return "", err
	}
	if cmd.Text == "" {
		return templateList(c.info.Channel, list), nil
	}
	t, why := pickTemplate(list, cmd.Text, c.info.Language)
	if why != "" {
		return "", refuse(why)
	}
	if n := t.Placeholders(); len(cmd.Args) != n {
		return "", refuse(fmt.Sprintf("Not sent: template %s takes %s, not %d. Its text: %s",
			t.Name, arguments(n), len(cmd.Args), singleLine(t.Body)))
	}
	out, why := c.customerOut(store.OutboundPayload{Template: &store.OutboundTemplate{Name: t.Name, Language: t.Language, Args: cmd.Args}})
	if out == nil {
		return "", refuse(why)
	}
	text := t.Fill(cmd.Args)
	if err := c.relayAgent(by, Event{Type: EventMessage, From: by.name, Text: text, out: out}, text); err != nil {
		return "", err
	}
	return "Sending template " + t.Name + " (" + t.Language + "): " + singleLine(text), nil
}

// templatesRefusal says why the chat has no templates to send ("" when
// it has: a WhatsApp customer's).
func (c *Chat) templatesRefusal() string {
	typ := c.info.ChannelType
	switch {
	case !c.isChannel():
		return "#tpl sends WhatsApp templates to WhatsApp customers; in a web chat you simply write."
	case typ.HasTemplates():
		return ""
	case typ.ReplyWindow() > 0:
		return "#tpl is for WhatsApp chats: " + typ.Title() + " has no message templates, " +
			"and the customer can be answered within 24 hours of their last message."
	}
	return "#tpl is for WhatsApp chats: " + typ.Title() + " has no message templates, and your messages reach the customer as they are."
}

// templateList is #tpl alone: the channel's approved templates, one line
// each.
func templateList(channel string, list []store.Template) string {
	lines := []string{"Approved WhatsApp templates of channel " + channel + ":"}
	for _, t := range list {
		if t.Status == store.TemplateApproved {
			lines = append(lines, "  "+t.Name+" ("+t.Language+", "+arguments(t.Placeholders())+") — "+singleLine(t.Body))
		}
	}
	if len(lines) == 1 {
		return "Channel " + channel + " has no approved WhatsApp templates; an administrator records them with: jabberdesk template add"
	}
	lines = append(lines, `Send one with #tpl NAME ARG…, an argument with spaces in quotes: #tpl order_update "Ana Lima" 4711`)
	return strings.Join(lines, "\n")
}

// arguments is "no arguments", "1 argument", "2 arguments"….
func arguments(n int) string {
	switch n {
	case 0:
		return "no arguments"
	case 1:
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}

// pickTemplate finds the approved template name: in the chat's language
// lang where it has several, else the first approved. why says why there
// is none.
func pickTemplate(list []store.Template, name, lang string) (t store.Template, why string) {
	var approved []store.Template
	var other store.TemplateStatus
	for _, t := range list {
		switch {
		case t.Name != name:
		case t.Status == store.TemplateApproved:
			approved = append(approved, t)
		case other == "":
			other = t.Status
		}
	}
	if len(approved) > 0 {
		return approved[languageMatch(approved, lang)], ""
	}
	switch other {
	case store.TemplatePending:
		return t, "Not sent: template " + name + " is still awaiting Meta's approval; #tpl lists the approved ones."
	case store.TemplateRejected:
		return t, "Not sent: Meta rejected template " + name + "; #tpl lists the approved ones."
	}
	return t, "Not sent: this channel has no template " + truncate(singleLine(name), 40) + "; #tpl lists the approved ones."
}

// languageMatch is the index of the template in lang ("en_US" and
// "en-us" are the same), else of one in the same language ("en" for
// "en_GB"), else 0.
func languageMatch(list []store.Template, lang string) int {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "_")) }
	base := func(s string) string { b, _, _ := strings.Cut(norm(s), "_"); return b }
	if lang == "" {
		return 0
	}
	for i, t := range list {
		if norm(t.Language) == norm(lang) {
			return i
		}
	}
	for i, t := range list {
		if base(t.Language) == base(lang) {
			return i
		}
	}
	return 0
}
