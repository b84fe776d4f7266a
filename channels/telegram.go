package channels

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// telegram speaks the Telegram Bot API (core.telegram.org/bots/api).
type telegram struct{ *client }

// telegramSecretHeader carries the secret_token given to setWebhook.
const telegramSecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxTelegramUpload is what bots may upload with multipart/form-data.
const maxTelegramUpload = 50 << 20

func (t *telegram) Handshake(url.Values) (string, error) { return "", errors.ErrUnsupported }

// Webhook checks X-Telegram-Bot-Api-Secret-Token, then reads the Update.
func (t *telegram) Webhook(h http.Header, body []byte) ([]Event, error) {
	if !sameSecret(h.Get(telegramSecretHeader), t.secrets.SecretToken) {
		return nil, ErrUnauthorized
	}
	if len(body) > MaxWebhookBody {
		return nil, ErrTooLarge
	}
	return parseTelegram(body, t.now())
}

// sameSecret compares in constant time; hashing first hides the length.
func sameSecret(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

type tgUpdate struct {
	UpdateID int64      `json:"update_id"`
	Message  *tgMessage `json:"message"`
}

type tgMessage struct {
	MessageID int64 `json:"message_id"`
	From      *struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Username  string `json:"username"`
	} `json:"from"`
	Chat struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	} `json:"chat"`
	Date     int64    `json:"date"`
	Text     string   `json:"text"`
	Caption  string   `json:"caption"`
	Photo    []tgFile `json:"photo"`
	Document *tgFile  `json:"document"`
	Video    *tgFile  `json:"video"`
	Audio    *tgFile  `json:"audio"`
	Voice    *tgFile  `json:"voice"`
	Sticker  *struct {
		tgFile
		Emoji      string `json:"emoji"`
		IsAnimated bool   `json:"is_animated"`
		IsVideo    bool   `json:"is_video"`
	} `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
}

// tgFile is PhotoSize, Document, Video, Audio and Voice alike.
type tgFile struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MIMEType string `json:"mime_type"`
	FileSize int64  `json:"file_size"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// parseTelegram reads one Update. Only messages in private chats are
// customers; other updates (edits, groups, callbacks…) are skipped.
func parseTelegram(body []byte, now time.Time) ([]Event, error) {
	var u tgUpdate
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, badPayload(err)
	}
	m := u.Message
	if m == nil || m.Chat.Type != "private" || m.Chat.ID == 0 {
		return nil, nil
	}
	chat := strconv.FormatInt(m.Chat.ID, 10)
	e := Event{
		Kind:       EventMessage,
		UserID:     chat,
		MessageID:  chat + ":" + strconv.FormatInt(m.MessageID, 10),
		Text:       clip(m.Text+m.Caption, MaxText),
		Time:       unixTime(m.Date, false),
		ReceivedAt: now,
	}
	if m.From != nil {
		e.Name = clip(strings.TrimSpace(m.From.FirstName+" "+m.From.LastName), 200)
		if e.Name == "" && m.From.Username != "" {
			e.Name = "@" + clip(m.From.Username, 100)
		}
	}
	if p := largestPhoto(m.Photo); p != nil {
		e.Attachments = append(e.Attachments, tgAttachment("image", *p, "image/jpeg"))
	}
	for _, f := range []struct {
		kind string
		file *tgFile
	}{{"file", m.Document}, {"video", m.Video}, {"audio", m.Audio}} {
		if f.file != nil {
			e.Attachments = append(e.Attachments, tgAttachment(f.kind, *f.file, ""))
		}
	}
	if m.Voice != nil {
		e.Attachments = append(e.Attachments, tgAttachment("audio", *m.Voice, "audio/ogg"))
	}
	if s := m.Sticker; s != nil {
		mt := "image/webp"
		if s.IsAnimated || s.IsVideo {
			mt = ""
		}
		e.Attachments = append(e.Attachments, tgAttachment("sticker", s.tgFile, mt))
		if e.Text == "" {
			e.Text = clip(s.Emoji, 64)
		}
	}
	if l := m.Location; l != nil && e.Text == "" {
		e.Text = fmt.Sprintf("Location: %.6f, %.6f", l.Latitude, l.Longitude)
	}
	if e.Text == "" && len(e.Attachments) == 0 {
		return nil, nil
	}
	return []Event{e}, nil
}

// largestPhoto picks the biggest of the sizes Telegram offers.
func largestPhoto(sizes []tgFile) *tgFile {
	var best *tgFile
	for i := range sizes {
		if best == nil || sizes[i].Width*sizes[i].Height > best.Width*best.Height {
			best = &sizes[i]
		}
	}
	return best
}

func tgAttachment(kind string, f tgFile, mimeType string) Attachment {
	if f.MIMEType != "" {
		mimeType = clip(f.MIMEType, 100)
	}
	return Attachment{Kind: kind, ID: clip(f.FileID, 512), MIME: mimeType, Name: cleanName(f.FileName), Size: f.FileSize}
}

// tgAnswer is every Bot API answer.
type tgAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// method calls a Bot API method with a JSON body and decodes its result.
func (t *telegram) method(ctx context.Context, name string, in, out any) error {
	a, err := t.call(ctx, http.MethodPost, t.base+"/bot"+t.secrets.BotToken+"/"+name, in, false, nil)
	if err != nil {
		return err
	}
	return t.result(a, out)
}

// result reads a Bot API answer into out, or classifies its error:
// 401 token_expired, 403 customer_blocked ("Forbidden: bot was blocked by
// the user", "…user is deactivated"), 429 rate_limited with
// parameters.retry_after, 5xx temporary, anything else provider_error.
func (t *telegram) result(a *answer, out any) error {
	var r tgAnswer
	if err := json.Unmarshal(a.body, &r); err != nil {
		if a.ok() {
			return t.invalid("answer is not JSON: %v", err)
		}
		return t.byStatus(a.status, a.header, strings.TrimSpace(string(a.body)))
	}
	if r.OK && a.ok() {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(r.Result, out); err != nil {
			return t.invalid("result not understood: %v", err)
		}
		return nil
	}
	code := r.ErrorCode
	if code == 0 {
		code = a.status
	}
	f := t.failure(ProviderError, a.status, code, r.Description)
	switch {
	case code == http.StatusUnauthorized:
		f.Kind = TokenExpired
	case code == http.StatusForbidden:
		f.Kind = CustomerBlocked
	case code == http.StatusTooManyRequests:
		f.Kind = RateLimited
		f.RetryAfter = retryAfter(a.header)
		if r.Parameters != nil && r.Parameters.RetryAfter > 0 {
			f.RetryAfter = seconds(r.Parameters.RetryAfter)
		}
	case code >= 500 || a.status >= 500:
		f.Kind = Temporary
	}
	return f
}

// chatID is the chat as JSON: a number when it is one.
func chatID(to string) any {
	if n, err := strconv.ParseInt(to, 10, 64); err == nil {
		return n
	}
	return to
}

// Send: sendMessage for text; sendPhoto by URL for JPEG and PNG;
// sendDocument by URL for GIF, PDF and ZIP (the only documents the Bot API
// fetches by URL); any other file is fetched here and uploaded.
func (t *telegram) Send(ctx context.Context, m Message) (Result, error) {
	if err := checkMessage(t.client, m, false); err != nil {
		return Result{}, err
	}
	in := map[string]any{"chat_id": chatID(m.To)}
	var method string
	switch f := m.File; {
	case f == nil:
		method, in["text"] = "sendMessage", m.Text
		if len(m.QuickReplies) > 0 {
			in["reply_markup"] = replyKeyboard(m.QuickReplies)
		}
	case isPhoto(f.MIME):
		method, in["photo"], in["caption"] = "sendPhoto", f.URL, m.Text
	case byURL(f.MIME):
		method, in["document"], in["caption"] = "sendDocument", f.URL, m.Text
	default:
		return t.upload(ctx, m)
	}
	var sent struct {
		MessageID int64 `json:"message_id"`
	}
	if err := t.method(ctx, method, in, &sent); err != nil {
		return Result{}, err
	}
	return Result{MessageID: strconv.FormatInt(sent.MessageID, 10)}, nil
}

// replyKeyboard is a ReplyKeyboardMarkup of answers in one row, sized to
// fit and hidden once used (core.telegram.org/bots/api#replykeyboardmarkup).
func replyKeyboard(answers []string) map[string]any {
	row := make([]map[string]string, len(answers))
	for i, a := range answers {
		row[i] = map[string]string{"text": a}
	}
	return map[string]any{"keyboard": [][]map[string]string{row}, "one_time_keyboard": true, "resize_keyboard": true}
}

func byURL(mimeType string) bool {
	switch strings.ToLower(mimeType) {
	case "image/gif", "application/pdf", "application/zip":
		return true
	}
	return false
}

// upload fetches the agent's file and posts it to sendDocument as
// multipart/form-data, streaming.
func (t *telegram) upload(ctx context.Context, m Message) (Result, error) {
	src, err := t.download(ctx, m.File.URL, false, maxTelegramUpload, t.sourceFailure)
	if err != nil {
		return Result{}, err
	}
	name := cleanName(m.File.Name)
	if name == "" {
		name = "file"
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	copied := make(chan error, 1)
	go func() {
		defer func() { _ = src.Body.Close() }() // read what was needed: closing loses nothing
		_ = mw.WriteField("chat_id", m.To)
		if m.Text != "" {
			_ = mw.WriteField("caption", m.Text)
		}
		part, err := mw.CreateFormFile("document", name)
		if err == nil {
			_, err = io.Copy(part, src.Body)
		}
		if err == nil {
			err = mw.Close()
		}
		copied <- err
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/bot"+t.secrets.BotToken+"/sendDocument", pr)
	if err != nil {
		pr.CloseWithError(err)
		return Result{}, t.invalid("building the request: %v", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	a, err := t.do(req)
	_ = pr.Close() // ends the copy if the request stopped reading; the copy reports its own error
	if err != nil {
		select {
		case cerr := <-copied:
			if errors.Is(cerr, ErrFileTooLarge) {
				return Result{}, t.invalid("file is larger than the %d bytes bots may upload", maxTelegramUpload)
			}
		default:
		}
		return Result{}, err
	}
	var sent struct {
		MessageID int64 `json:"message_id"`
	}
	if err := t.result(a, &sent); err != nil {
		return Result{}, err
	}
	return Result{MessageID: strconv.FormatInt(sent.MessageID, 10)}, nil
}

// sourceFailure classifies a failed download of the agent's own file.
func (t *telegram) sourceFailure(a *answer) error {
	k := ProviderError
	if a.status >= 500 {
		k = Temporary
	}
	return t.failure(k, a.status, 0, "fetching the file to upload failed")
}

// Typing sends the "typing" chat action.
func (t *telegram) Typing(ctx context.Context, to string) error {
	return t.method(ctx, "sendChatAction", map[string]any{"chat_id": chatID(to), "action": "typing"}, nil)
}

func (t *telegram) Profile(context.Context, string) (Profile, error) {
	return Profile{}, errors.ErrUnsupported
}

// Fetch asks getFile for the file's path, then downloads
// /file/bot<token>/<file_path> (valid for at least an hour).
func (t *telegram) Fetch(ctx context.Context, a Attachment, max int64) (*Media, error) {
	var f struct {
		FilePath string `json:"file_path"`
		FileSize int64  `json:"file_size"`
	}
	if err := t.method(ctx, "getFile", map[string]any{"file_id": a.ID}, &f); err != nil {
		return nil, err
	}
	if f.FilePath == "" {
		return nil, t.invalid("getFile gave no file_path")
	}
	return t.fetch(ctx, t.base+"/file/bot"+t.secrets.BotToken+"/"+f.FilePath, false, max, a, func(a *answer) error {
		return t.result(a, nil)
	})
}

// Check calls getMe.
func (t *telegram) Check(ctx context.Context) (Account, error) {
	var me struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		Username  string `json:"username"`
	}
	if err := t.method(ctx, "getMe", struct{}{}, &me); err != nil {
		return Account{}, err
	}
	name := me.FirstName
	if me.Username != "" {
		name = "@" + me.Username
	}
	return Account{ID: strconv.FormatInt(me.ID, 10), Name: name}, nil
}

// Register calls setWebhook. A 403 there has no customer to blame: it is
// a ProviderError.
func (t *telegram) Unregister(ctx context.Context) error {
	var deleted bool
	err := t.method(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, &deleted)
	if f := AsFailure(err); f != nil && f.Kind == CustomerBlocked {
		f.Kind = ProviderError
	}
	if err == nil && !deleted {
		return t.invalid("deleteWebhook answered false")
	}
	return err
}

func (t *telegram) Register(ctx context.Context, webhookURL string) error {
	if webhookURL == "" {
		return t.invalid("no webhook URL to register (an empty one would remove the webhook)")
	}
	in := map[string]any{
		"url":                  webhookURL,
		"secret_token":         t.secrets.SecretToken,
		"allowed_updates":      []string{"message"},
		"drop_pending_updates": false,
	}
	var set bool
	err := t.method(ctx, "setWebhook", in, &set)
	if f := AsFailure(err); f != nil && f.Kind == CustomerBlocked {
		f.Kind = ProviderError
	}
	if err == nil && !set {
		return t.invalid("setWebhook answered false")
	}
	return err
}
