// Package web is the visitors' side of jabberdesk (docs/VISITOR-API.md): the JSON
// HTTP API that starts chats and carries visitors' messages, the WebSocket
// and long-poll event streams, and the embeddable widget (widget.js, the
// standalone page /chat/{portal}) served from the binary.
//
// Invariants:
//   - Every request after chat creation carries the chat's bearer token;
//     tokens are compared in constant time against a stored hash.
//   - Errors are JSON {"error":{"code","message"}} with the statuses of
//     docs/VISITOR-API.md §1.3; a message says what was wrong and how to do it right.
//   - Request bodies are limited (413; a file a visitor attaches by the
//     upload store's limits, anything else by MaxBody), files are typed
//     by their content, chat creation is rate limited per
//     client address (429), and nothing a visitor sends reaches another
//     portal: chats are found by their random id and checked by token.
//   - Nothing without credentials can exhaust the listener (limits.go):
//     every request is read within a deadline, connections and event
//     streams are capped per address and per chat, requests, messages and
//     typing are rate limited; over a limit: 429 with Retry-After.
//   - The client address comes from the connection; X-Forwarded-For is
//     believed only from configured trusted proxies.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/forwarded"
	"jabberdesk/internal/limit"
	"jabberdesk/store"
	"jabberdesk/uploads"
)

// Config configures the visitor API.
type Config struct {
	Engine         *bridge.Engine
	Store          *store.Store
	Logger         *slog.Logger
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
	MaxBody        int64          // bytes of a request body (default 16 KiB)
	ChatRate       float64        // chats a client address may start per minute (default 6)
	ChatBurst      int            // … at once (default 5)
	GeoIP          *GeoIP         // nil: countries are "unknown"
	LongPollWait   time.Duration  // default 25 s
	// Uploads is the upload store: HTTP File Upload (XEP-0363) and the
	// files of chats; nil turns uploads and attachments off.
	Uploads *uploads.Store
	// Limits bound what a visitor may cost (limits.go).
	Limits Limits
	// Certificate returns the XMPP server's certificate chain (PEM), served
	// at /certificate.pem for clients that must be given it (poezio,
	// mcabber); nil or a nil answer: 404.
	Certificate func() []byte
	// ACMEChallenge answers an ACME authority's HTTP-01 requests under
	// /.well-known/acme-challenge/ (RFC 8555 §8.3); nil: none.
	ACMEChallenge http.Handler
	// Webhooks answers the IM providers' webhooks at /hooks/{id}
	// (package bridge/im), with their own verification and body limit;
	// nil: none.
	Webhooks http.Handler
	// Console serves the supervisor console under /console/ (package
	// console), with its own sessions and security headers and without
	// the visitor API's CORS; nil: none.
	Console http.Handler
}

// Server serves the visitor API and the widget.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	chats *limit.Rate // chats started per client address
	lim   limiters
	http  *http.Server
	// refused counts connections refused over the per-address cap.
	refused atomic.Int64
	// streams counts open event streams (WebSockets and long polls).
	streamsOpen atomic.Int64

	// uploading holds the ids of the slots a PUT is being received for,
	// so that a second PUT running at the same time is refused instead of
	// racing the first one to the final name.
	uploading sync.Map

	// streams ends when Shutdown starts: long polls answer and WebSockets
	// close at once instead of holding the shutdown up.
	streams     context.Context
	stopStreams context.CancelFunc
}

// New makes a Server.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 16 << 10
	}
	if cfg.ChatRate <= 0 {
		cfg.ChatRate = 6
	}
	if cfg.ChatBurst <= 0 {
		cfg.ChatBurst = 5
	}
	if cfg.LongPollWait <= 0 {
		cfg.LongPollWait = 25 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Limits.setDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), chats: limit.NewRate(cfg.ChatRate/60, cfg.ChatBurst), lim: newLimiters(cfg.Limits)}
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	s.routes()
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: min(10*time.Second, cfg.Limits.RequestTimeout),
		ReadTimeout:       cfg.Limits.RequestTimeout,
		WriteTimeout:      2 * cfg.Limits.RequestTimeout,
		IdleTimeout:       cfg.Limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return s
}

// Refused is the number of connections refused over the per-address cap.
func (s *Server) Refused() int64 { return s.refused.Load() }

// OpenStreams is the number of visitors' WebSockets and long polls open.
func (s *Server) OpenStreams() int64 { return s.streamsOpen.Load() }

func (s *Server) routes() {
	s.mux.HandleFunc("POST /api/v1/chats", s.createChat)
	s.mux.HandleFunc("GET /api/v1/chats/{id}/ws", s.websocket)
	s.mux.HandleFunc("GET /api/v1/chats/{id}/events", s.events)
	s.mux.HandleFunc("POST /api/v1/chats/{id}/messages", s.message)
	s.mux.HandleFunc("POST /api/v1/chats/{id}/typing", s.typing)
	s.mux.HandleFunc("POST /api/v1/chats/{id}/end", s.end)
	s.mux.HandleFunc("POST /api/v1/chats/{id}/opened", s.opened)
	s.mux.HandleFunc("POST /api/v1/chats/{id}/rating", s.rating)
	s.mux.HandleFunc("GET /api/v1/portals/{portal}/departments", s.departments)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /certificate.pem", s.certificate)
	if s.cfg.ACMEChallenge != nil {
		s.mux.Handle("/.well-known/acme-challenge/", s.cfg.ACMEChallenge)
	}
	if s.cfg.Webhooks != nil {
		s.mux.Handle("GET /hooks/{id}", s.cfg.Webhooks)
		s.mux.Handle("POST /hooks/{id}", s.cfg.Webhooks)
	}
	if s.cfg.Console != nil {
		s.mux.Handle("/console/", s.cfg.Console)
	}
	s.widgetRoutes()
	s.uploadRoutes()
	s.attachRoutes()
}

// certificate serves the XMPP server's certificate (public), so that an
// agent can give it to a client that pins or trusts it by file; the
// agent compares its fingerprint with what 'agent settings' prints.
func (s *Server) certificate(w http.ResponseWriter, r *http.Request) {
	var pem []byte
	if s.cfg.Certificate != nil {
		pem = s.cfg.Certificate()
	}
	if len(pem) == 0 {
		s.writeError(w, r, fail(http.StatusNotFound, "not_found", "this server's certificate is issued by a certificate authority clients already trust"))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="jabberdesk-certificate.pem"`)
	_, _ = w.Write(pem) // the client may have gone; nothing to do about it
}

// ServeHTTP adds CORS (the widget runs on customers' sites; no cookies are
// used, the token travels in a header) and routes; the console is routed
// as it is.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Console != nil && strings.HasPrefix(r.URL.Path, "/console/") {
		// The console's pages are for its own origin only: no CORS.
		s.mux.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Retry-After") // the widget waits as told
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	ln = newCapListener(ln, s.lim.conns, s.trusted, func() { s.refused.Add(1) })
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, answers long polls and closes WebSockets at
// once ("going away": the widget reconnects), and waits for the other
// requests to finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopStreams()
	return s.http.Shutdown(ctx)
}

// streamContext is r's context, also cancelled when Shutdown starts: for
// requests that wait for events.
func (s *Server) streamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.streams, cancel)
	return ctx, func() { stop(); cancel() }
}

// apiError is the JSON error body.
type apiError struct {
	status     int
	retryAfter time.Duration // for 429 and 503: when to try again
	Code       string        `json:"code"`
	Msg        string        `json:"message"`
}

func (e *apiError) Error() string { return e.Msg }

func fail(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Msg: msg}
}

// writeError maps an error to the API's statuses (docs/VISITOR-API.md §1.3).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var ue *store.UserError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = fail(http.StatusRequestEntityTooLarge, "too_large", "the request body is larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	case errors.Is(err, bridge.ErrBadToken):
		ae = fail(http.StatusUnauthorized, "bad_token", "the chat token is missing or wrong: send it as 'Authorization: Bearer TOKEN' or ?token=TOKEN")
	case errors.Is(err, bridge.ErrBlocked):
		ae = fail(http.StatusForbidden, "blocked", "you cannot start a chat from this address: it has been blocked by the support team")
	case errors.Is(err, bridge.ErrChatEnded):
		ae = fail(http.StatusConflict, "chat_ended", "this chat has ended; start a new one")
	case errors.Is(err, bridge.ErrChatLive):
		ae = fail(http.StatusConflict, "chat_live", "this chat has not ended yet; rate it once it is over")
	case errors.Is(err, bridge.ErrRated):
		ae = fail(http.StatusConflict, "already_rated", "this chat was rated already; a chat is rated once")
	case errors.Is(err, bridge.ErrNotRateable):
		ae = fail(http.StatusConflict, "not_rateable", "this chat takes no rating: nobody from the team took part in it, it ended with a block, or the team does not ask for ratings")
	case errors.Is(err, bridge.ErrAgentBusy):
		ae = tooMany("agent_busy", "the agent is not keeping up with this chat; your message was not sent, send it again in a moment", 2*time.Second)
	case errors.Is(err, store.ErrStorageFull):
		ae = fail(http.StatusInsufficientStorage, "server_out_of_space", "the server is out of disk space; nothing of this request was stored, try again later")
		ae.retryAfter = time.Minute
	case errors.Is(err, store.ErrUnavailable):
		s.log.Error("visitor API: the database cannot be reached", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = fail(http.StatusServiceUnavailable, "unavailable", "the helpdesk cannot reach its database right now; nothing of this request was stored, try again in a moment")
		ae.retryAfter = 5 * time.Second
	case errors.As(err, &ue) && errors.Is(err, store.ErrNotFound):
		ae = fail(http.StatusNotFound, "not_found", ue.Msg)
	case errors.As(err, &ue):
		ae = fail(http.StatusBadRequest, "bad_request", ue.Msg)
	default:
		s.log.Error("visitor API", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = fail(http.StatusInternalServerError, "internal", "something went wrong on our side; please try again")
	}
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(limit.RetryAfterSeconds(ae.retryAfter)))
	}
	writeJSON(w, ae.status, map[string]any{"error": ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status is sent; a body that cannot be written has nobody to
	// read it.
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body within the size limit.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	d := json.NewDecoder(r.Body)
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fail(http.StatusBadRequest, "bad_json", "the body is not valid JSON: "+err.Error())
	}
	return nil
}

// token is the bearer token of a request: header, or ?token=.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):])
	}
	return r.URL.Query().Get("token")
}

// visitor authenticates a request for /api/v1/chats/{id}/…, after the
// per-address request rate.
func (s *Server) visitor(r *http.Request) (*bridge.VisitorChat, error) {
	if err := s.admitRequest(r); err != nil {
		return nil, err
	}
	v, err := s.cfg.Engine.Visitor(r.Context(), r.PathValue("id"), token(r))
	var ue *store.UserError
	if errors.As(err, &ue) && errors.Is(err, store.ErrNotFound) {
		return nil, fail(http.StatusNotFound, "not_found", "there is no chat "+strconv.Quote(r.PathValue("id")))
	}
	return v, err
}

// clientIP is the visitor's address: the connection's peer, or what a
// trusted proxy says of the client (package forwarded).
func (s *Server) clientIP(r *http.Request) netip.Addr {
	return forwarded.Proxies(s.cfg.TrustedProxies).ClientIP(r)
}

func (s *Server) trusted(ip netip.Addr) bool {
	return forwarded.Proxies(s.cfg.TrustedProxies).Trusted(ip)
}
