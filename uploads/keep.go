package uploads

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"jabberdesk/store"
)

// Refusal is a file the store does not keep: too large, or of a kind it
// does not take. Its text is for people.
type Refusal struct {
	TooLarge bool
	Msg      string
}

func (r *Refusal) Error() string { return r.Msg }

// sniffLen is how much of a file decides its type (what
// http.DetectContentType reads).
const sniffLen = 512

// Keep stores a file the server keeps itself (a web visitor's
// attachment, a customer's file from their provider) under a new slot
// id, and returns it for the caller to record (store.AddChatFile,
// store.SetInboundAttachment; Discard it if that fails). name and
// claimed are what the sender says; the type kept is what the first
// bytes show (typeOf). Refusals are *Refusal; a source that fails or
// ends early is ErrIncomplete; anything else is the server's disk.
func (s *Store) Keep(name, claimed string, src io.Reader) (store.KeptFile, error) {
	if s == nil {
		return store.KeptFile{}, &Refusal{Msg: "files are not kept on this server (it has no HTTP listener)"}
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(src, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return store.KeptFile{}, incomplete(err)
	}
	head = head[:n]
	ct, err := typeOf(name, claimed, head)
	if err != nil {
		return store.KeptFile{}, err
	}
	if !s.limits.Allows(ct) {
		return store.KeptFile{}, &Refusal{Msg: "files of type " + mediaType(ct) + " are not accepted here; allowed: " + strings.Join(s.limits.AllowedTypes, ", ")}
	}
	f := store.KeptFile{ID: store.NewUploadSlotID(), Name: fileName(name, ct), MIME: ct}
	p, err := s.begin(f.ID)
	if err != nil {
		return store.KeptFile{}, err
	}
	f.Size, err = p.copyFrom(io.MultiReader(bytes.NewReader(head), src), s.limits.MaxFileSize)
	if err == nil && s.limits.MaxFileSize >= 0 && f.Size > s.limits.MaxFileSize {
		err = &Refusal{TooLarge: true, Msg: "the file is larger than the " + store.FormatBytes(s.limits.MaxFileSize) + " files may have"}
	}
	if err == nil {
		err = p.commit()
	} else {
		p.abort()
	}
	if err != nil {
		return store.KeptFile{}, err
	}
	return f, nil
}

// typeOf is the type a kept file is served with. Programs, web pages and
// SVG images are refused, by content, name or claim: served from our
// origin, a page or an image with scripts could act as us. Otherwise the
// content decides (http.DetectContentType), and the claim is believed
// only where the content says no more than a generic container (an
// office document is a ZIP, a voice note an Ogg file) and the claim is
// of the same family (text for text, binary for binary).
func typeOf(name, claimed string, head []byte) (string, error) {
	claim := mediaType(claimed)
	ext := strings.ToLower(path.Ext(name))
	sniffed := http.DetectContentType(head)
	sn := mediaType(sniffed)
	trimmed := bytes.ToLower(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"))
	switch {
	case isProgram(head) || programExts[ext] || programTypes[claim]:
		return "", &Refusal{Msg: "programs and scripts cannot be sent as files"}
	case sn == "text/html" || sn == "text/xml" || markupExts[ext] || markupTypes[claim] ||
		bytes.HasPrefix(trimmed, []byte("<svg")) || bytes.HasPrefix(trimmed, []byte("<!doctype")):
		return "", &Refusal{Msg: "web pages and SVG images cannot be sent as files; send a picture (PNG, JPEG), a PDF or a text file instead"}
	}
	generic := sn == "application/octet-stream" || sn == "application/ogg" || sn == "video/mp4" || sn == "application/zip"
	if _, _, err := mime.ParseMediaType(claim); err != nil || claim == "application/octet-stream" || strings.Contains(claim, "*") {
		return sniffed, nil
	}
	text := strings.HasPrefix(claim, "text/")
	if (generic && !text) || (sn == "text/plain" && text) {
		if text {
			return mime.FormatMediaType(claim, map[string]string{"charset": "utf-8"}), nil
		}
		return claim, nil
	}
	return sniffed, nil
}

// isProgram reports whether a file starts like an executable: a Windows
// PE, an ELF or Mach-O binary, or a script with #!.
func isProgram(head []byte) bool {
	for _, magic := range []string{"MZ", "\x7fELF", "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe", "\xca\xfe\xba\xbe", "#!"} {
		if bytes.HasPrefix(head, []byte(magic)) {
			return true
		}
	}
	return false
}

// The extensions and claimed types of programs and of markup that a
// browser or a desktop would run or render.
var (
	programExts = set(".exe", ".com", ".bat", ".cmd", ".msi", ".msp", ".scr", ".pif", ".cpl", ".dll", ".ps1", ".psm1", ".vbs", ".vbe",
		".js", ".jse", ".mjs", ".wsf", ".wsh", ".hta", ".jar", ".apk", ".app", ".sh", ".bash", ".command", ".lnk", ".reg", ".so", ".dylib")
	programTypes = set("application/x-msdownload", "application/x-msdos-program", "application/vnd.microsoft.portable-executable",
		"application/x-executable", "application/x-sh", "application/x-shellscript", "application/java-archive",
		"application/x-msi", "application/vnd.android.package-archive", "application/javascript", "text/javascript", "application/ecmascript", "text/ecmascript")
	markupExts  = set(".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".xsl", ".mht", ".mhtml")
	markupTypes = set("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl", "multipart/related")
)

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// mediaType is the lowercased type/subtype of a Content-Type value.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// fileName is the name a kept file is served under: the sender's,
// made safe, or one made from its type.
func fileName(name, ct string) string {
	if n, err := store.SanitizeFilename(name); err == nil {
		return n
	}
	if ext, ok := typeExts[mediaType(ct)]; ok {
		return "file" + ext
	}
	return "file"
}

// typeExts name files that came without a name (a photo from Telegram).
var typeExts = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/bmp": ".bmp",
	"video/mp4": ".mp4", "video/webm": ".webm", "audio/ogg": ".ogg", "application/ogg": ".ogg", "audio/mpeg": ".mp3",
	"audio/mp4": ".m4a", "audio/wave": ".wav", "application/pdf": ".pdf", "application/zip": ".zip", "text/plain": ".txt",
}
