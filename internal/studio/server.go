// Package studio is the trainer's web view of possim (DESIGN.md §9): one
// page, served from the binary, that shows the link live as a ladder, the
// merchant's screen beside the wire, a fault panel, library scenarios with
// pause, step and slow motion, and each failed transaction's cause and fix
// from the catalogue.
//
// The page is plain HTML, CSS and JavaScript embedded with embed: no CDN,
// no build step, so it works offline in a classroom. The API is JSON over
// HTTP and a Server-Sent Events stream; the fault panel uses the fault
// control API of internal/fault, mounted under /api/control/{side}/.
package studio

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/internal/fault"
)

//go:embed web
var webFS embed.FS

// Config of a studio server.
type Config struct {
	Listen string // default 127.0.0.1:8080
	// Token, when set, is required on every API request as
	// "Authorization: Bearer TOKEN" (the page reads it from the URL's
	// #token= fragment). Required off loopback.
	Token   string
	Session Options
	Logger  *slog.Logger
	// Flush is how often the page's stream is sent what changed (updates
	// are coalesced in between); default 150 ms.
	Flush time.Duration
}

// Server is a running studio.
type Server struct {
	cfg  Config
	s    *session
	ln   net.Listener
	srv  *http.Server
	addr string
	// allowHost says which Host headers are ours (DNS rebinding: a foreign
	// name pointing at 127.0.0.1 gets 421).
	anyHost bool
	port    string
	bindIP  string
}

// Start builds the session and serves the studio in the background.
func Start(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 150 * time.Millisecond
	}
	hostPart, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("studio address %q: %v (want host:port, e.g. 127.0.0.1:8080)", cfg.Listen, err)
	}
	if cfg.Token == "" && !isLoopback(hostPart) {
		return nil, fmt.Errorf("studio address %q is not a loopback address: set a token (--token; the page then opens at http://HOST:PORT/#token=TOKEN) or listen on 127.0.0.1", cfg.Listen)
	}
	if cfg.Session.Logger == nil {
		cfg.Session.Logger = cfg.Logger
	}
	s, err := newSession(cfg.Session)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("studio: %w", err)
	}
	srv := &Server{cfg: cfg, s: s, ln: ln, addr: ln.Addr().String()}
	ip, port, _ := net.SplitHostPort(srv.addr)
	srv.port, srv.bindIP = port, ip
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsUnspecified() {
		srv.anyHost = true // every name reaches us; the token guards the API
	}
	srv.srv = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.srv.Serve(ln) }()
	return srv, nil
}

// Addr is the address the studio listens on.
func (sv *Server) Addr() string { return sv.addr }

// URL is what to open in a browser.
func (sv *Server) URL() string {
	u := "http://" + sv.addr + "/"
	if sv.cfg.Token != "" {
		u += "#token=" + sv.cfg.Token
	}
	return u
}

// Close stops the server and the session.
func (sv *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sv.s.cancel() // ends the event streams
	err := sv.srv.Shutdown(ctx)
	if err != nil {
		_ = sv.srv.Close()
	}
	sv.s.Close()
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler is the studio's HTTP handler: the page and the API, behind the
// same Host, Origin, token and Content-Type rules as the fault control API.
func (sv *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	web, _ := fs.Sub(webFS, "web")
	static := http.FileServerFS(web)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeErr(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: the page is read with GET", r.Method, r.URL.Path))
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'")
		static.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /api/state", sv.getState)
	mux.HandleFunc("GET /api/events", sv.events)
	mux.HandleFunc("GET /api/ladder", sv.older)
	mux.HandleFunc("GET /api/messages/{id}", sv.message)
	mux.HandleFunc("POST /api/transactions", sv.postTx)
	mux.HandleFunc("GET /api/transactions/{id}", sv.getTx)
	mux.HandleFunc("POST /api/stream", sv.postStream)
	mux.HandleFunc("POST /api/actions/{name}", sv.postAction)
	mux.HandleFunc("GET /api/catalogue", sv.catalogue)
	mux.HandleFunc("POST /api/scenario", sv.postScenario)
	mux.HandleFunc("POST /api/scenario/{cmd}", sv.scenarioCmd)
	mux.HandleFunc("GET /api/trace.json", sv.trace)
	mux.HandleFunc("GET /api/capture.pcap", func(w http.ResponseWriter, _ *http.Request) { sv.s.pcap.serve(w) })
	for _, side := range sv.s.sideNames() {
		prefix := "/api/control/" + side
		mux.Handle(prefix+"/", http.StripPrefix(prefix, fault.NewControl(sv.s.rules(side), "")))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s (see the studio section of the README)", r.Method, r.URL.Path))
	})
	return sv.guard(mux)
}

// guard applies the control API's rules to every request: a Host that is
// not ours gets 421 (DNS rebinding), a foreign Origin 403, a missing or
// wrong token 401, a mutating request that is not JSON 415.
func (sv *Server) guard(next http.Handler) http.Handler {
	want := []byte("Bearer " + sv.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sv.ourHost(r.Host) {
			writeErr(w, http.StatusMisdirectedRequest, fmt.Errorf("host %q is not this studio's address (%s): open http://%s/", r.Host, sv.addr, sv.addr))
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			writeErr(w, http.StatusForbidden, fmt.Errorf("origin %q may not use the studio (only pages served by it)", o))
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		if sv.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="possim studio"`)
			writeErr(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token: open the studio at the URL it printed (with #token=...)"))
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				writeErr(w, http.StatusUnsupportedMediaType, fmt.Errorf("%s %s needs Content-Type: application/json", r.Method, r.URL.Path))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (sv *Server) ourHost(h string) bool {
	if sv.anyHost {
		return true
	}
	name, port, err := net.SplitHostPort(h)
	if err != nil {
		name, port = h, "80"
	}
	if port != sv.port {
		return false
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	return isLoopback(name) && isLoopback(sv.bindIP) || name == sv.bindIP
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// decode reads a JSON body strictly: unknown keys are errors.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %v", err)
	}
	return nil
}

func (sv *Server) getState(w http.ResponseWriter, _ *http.Request) {
	b, _ := sv.s.hub.since(0, ^uint64(0))
	writeJSON(w, http.StatusOK, b.State)
}

// events streams batches as Server-Sent Events: what changed, at most
// once per Flush, so a 1 000 messages/s link costs the page a few
// updates a second. ?since=VERSION resumes; without it the page gets the
// newest rows first (a reset).
func (sv *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, http.StatusInternalServerError, errors.New("streaming not supported"))
		return
	}
	var v uint64
	if s := r.URL.Query().Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("since=%s: want a version number", s))
			return
		}
		v = n
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sv.stream(r.Context(), w, fl, v)
}

func (sv *Server) stream(ctx context.Context, w io.Writer, fl http.Flusher, v uint64) {
	h := sv.s.hub
	var sv0 uint64 = ^uint64(0)
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	first := true
	for {
		ch := h.changed()
		b, stV := h.since(v, sv0)
		if first || len(b.Rows) > 0 || b.State != nil || b.Reset {
			first = false
			data, err := json.Marshal(b)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "event: batch\ndata: %s\n\n", data); err != nil {
				return
			}
			fl.Flush()
		}
		v, sv0 = b.Version, stV
		// Coalesce: wait for a change, then let more gather for Flush.
		select {
		case <-ctx.Done():
			return
		case <-sv.s.ctx.Done():
			return
		case <-keep.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
			continue
		case <-ch:
		}
		t := time.NewTimer(sv.cfg.Flush)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-sv.s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (sv *Server) older(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	before, err := strconv.ParseInt(q.Get("before"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("before=%q: want a row number", q.Get("before")))
		return
	}
	limit := 200
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("limit=%s: want 1 to 1000", s))
			return
		}
	}
	rows := sv.s.hub.older(before, limit)
	if rows == nil {
		rows = []*Row{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rows": rows, "oldest": sv.s.hub.oldest()})
}

func (sv *Server) message(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("message id %q is not a number", r.PathValue("id")))
		return
	}
	k := sv.s.hub.message(id)
	if k == nil {
		writeErr(w, http.StatusNotFound, fmt.Errorf("message %d is no longer kept: the studio keeps the fields of the last %d messages", id, defaultKeptMsgs))
		return
	}
	writeJSON(w, http.StatusOK, dumpMessage(k))
}

func (sv *Server) postTx(w http.ResponseWriter, r *http.Request) {
	var req TxRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if req.Kind == "" {
		req.Kind = "purchase"
	}
	id, err := sv.s.Begin(req)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	v, _ := sv.s.Wait(id, 0)
	w.Header().Set("Location", fmt.Sprintf("/api/transactions/%d", id))
	writeJSON(w, http.StatusAccepted, v)
}

// getTx returns a transaction; ?wait=DURATION waits for its outcome.
func (sv *Server) getTx(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("transaction id %q is not a number", r.PathValue("id")))
		return
	}
	var wait time.Duration
	if s := r.URL.Query().Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil || wait < 0 || wait > time.Minute {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("wait=%s: want a duration up to 1m, like 5s", s))
			return
		}
	}
	v, ok := sv.s.Wait(id, wait)
	if !ok {
		writeErr(w, http.StatusNotFound, fmt.Errorf("no transaction %d (the studio keeps the last %d)", id, maxKeptTx))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (sv *Server) postStream(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TPS int `json:"tps"`
	}
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if err := sv.s.SetStream(req.TPS); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"tps": req.TPS})
}

func (sv *Server) postAction(w http.ResponseWriter, r *http.Request) {
	if err := sv.s.Action(r.PathValue("name")); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"done": r.PathValue("name")})
}

// catalogue is everything the panels list: fault types with their
// attributes, the library's failure modes, actions, test cards and
// scenarios.
func (sv *Server) catalogue(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"fault_types": fault.Catalogue(),
		"modes":       sv.s.FailureModes(),
		"actions":     Actions,
		"cards":       sv.s.Cards(),
		"scenarios":   sv.s.Scenarios(),
		"sides":       sv.s.sideNames(),
	})
}

func (sv *Server) postScenario(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string `json:"name"`
		Speed  int    `json:"speed"`
		Paused bool   `json:"paused"`
	}
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if req.Name == "" {
		writeErr(w, http.StatusBadRequest, errors.New(`give a library scenario: {"name":"response-lost"}`))
		return
	}
	if err := sv.s.Play(req.Name, req.Speed, req.Paused); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"scenario": req.Name})
}

func (sv *Server) scenarioCmd(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Speed int `json:"speed"`
	}
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if err := sv.s.Control(r.PathValue("cmd"), req.Speed); err != nil {
		writeErr(w, http.StatusConflict, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"done": r.PathValue("cmd")})
}

// trace is the session as JSON: every row the studio still keeps, the
// state and the failed transactions with their causes.
func (sv *Server) trace(w http.ResponseWriter, _ *http.Request) {
	rows, dropped := sv.s.hub.all()
	b, _ := sv.s.hub.since(0, ^uint64(0))
	w.Header().Set("Content-Disposition", `attachment; filename="possim-studio-trace.json"`)
	writeJSON(w, http.StatusOK, map[string]any{
		"units":        map[string]string{"at_ms": "milliseconds since the session started", "transit_ms": "milliseconds", "round_ms": "milliseconds", "late_ms": "milliseconds", "latency_ms": "milliseconds"},
		"started":      sv.s.hub.start,
		"rows":         rows,
		"dropped_rows": dropped,
		"note":         fmt.Sprintf("the studio keeps the newest %d rows; dropped_rows older ones are not in this trace", defaultRows),
		"state":        b.State,
	})
}
