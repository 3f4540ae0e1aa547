package fault

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RuleView is a rule as the control API shows it.
type RuleView struct {
	ID      int    `json:"id"`
	Label   string `json:"label"`
	Type    string `json:"type"`
	Level   Level  `json:"level"`
	Spec    string `json:"spec"` // the rule in the flag grammar
	Seen    uint64 `json:"seen"`
	Fired   uint64 `json:"fired"`
	Enabled bool   `json:"enabled"`
}

func (rs *RuleSet) view(r *rule) RuleView {
	return RuleView{ID: r.ID, Label: r.Label(), Type: r.Type, Level: r.t.Level, Spec: r.Rule.String(),
		Seen: r.seen.Load(), Fired: r.fired.Load(), Enabled: rs.Enabled(r.ID)}
}

// The control API's limits.
const (
	// MaxBody is the largest request body: one rule is a few hundred bytes.
	MaxBody = 64 << 10
	// MaxRules is the most rules a rule set takes through the API: every
	// message is checked against every rule, so 20 000 rules made a
	// purchase 15 times slower.
	MaxRules = 1000
)

// ControlOptions configure NewControlWith.
type ControlOptions struct {
	// Token, when set, is required as "Authorization: Bearer TOKEN".
	Token string
	// Addr is the address the API listens on ("127.0.0.1:8474"); requests
	// must name it (or localhost, or a loopback address) in their Host
	// header. Empty: localhost and loopback addresses on any port.
	Addr string
}

// NewControl serves a JSON API over rs, safe to use while links run:
//
//	GET    /health        {"status":"ok","seed":…,"rules":…,"fired":…}
//	GET    /faults        the rules with ids and fire counts
//	POST   /faults        add one: {"spec":"delay:mti=0210,delay=2s"} or a
//	                      rule as JSON, keys as in the flag grammar:
//	                      {"type":"delay","mti":["0210"],"p":0.5,"delay":"2s"}
//	DELETE /faults/{id}   remove one
//	POST   /faults/reset  remove all
//	GET    /fired         recent firings (?limit=N: the last N)
//
// With a token, every request needs "Authorization: Bearer TOKEN" (401
// otherwise).
func NewControl(rs *RuleSet, token string) http.Handler {
	return NewControlWith(rs, ControlOptions{Token: token})
}

// NewControlWith is NewControl with the defences a control API on a
// developer's machine needs against web pages, which can send requests to
// loopback addresses:
//
//   - a request that changes something must be Content-Type
//     application/json (415): a page cannot send that cross-site without a
//     CORS preflight, which this API never grants;
//   - a request with an Origin header other than the API's own is refused
//     (403);
//   - the Host header must name the API's address, localhost or an IP
//     address (421): a DNS-rebinding page's requests carry its own name;
//   - bodies are at most MaxBody (413) and the rule set at most MaxRules
//     rules (409).
//
// Rules are named by id, name or label: DELETE /faults/slowlink;
// PATCH /faults/slowlink {"delay":"5s"} changes attributes, {"enabled":
// false} switches it off, {"enabled": true} on again.
func NewControlWith(rs *RuleSet, opts ControlOptions) http.Handler {
	api := &controlAPI{rs: rs, opts: opts, want: []byte("Bearer " + opts.Token)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", api.health)
	mux.HandleFunc("GET /faults", api.list)
	mux.HandleFunc("POST /faults", api.add)
	mux.HandleFunc("GET /faults/{ref}", api.get)
	mux.HandleFunc("DELETE /faults/{ref}", api.remove)
	mux.HandleFunc("PATCH /faults/{ref}", api.patch)
	mux.HandleFunc("POST /faults/reset", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"removed": rs.Reset()})
	})
	mux.HandleFunc("GET /fired", api.fired)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s: the API has GET /health, GET|POST /faults, GET|PATCH|DELETE /faults/{id|name}, POST /faults/reset, GET /fired", req.Method, req.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if api.admit(w, req) {
			mux.ServeHTTP(w, req)
		}
	})
}

// controlAPI is the HTTP control API over one rule set; each method is one
// endpoint, admit the checks every request passes first.
type controlAPI struct {
	rs    *RuleSet
	opts  ControlOptions
	want  []byte     // the Authorization header a token asks for
	addMu sync.Mutex // the rule-count check and the add are one step
}

// admit applies the Host, Origin, token, content-type and size rules; on
// refusal it has answered.
func (a *controlAPI) admit(w http.ResponseWriter, req *http.Request) bool {
	if !hostAllowed(req.Host, a.opts.Addr) {
		writeError(w, http.StatusMisdirectedRequest, fmt.Errorf("the Host header %q is not this API's address: use %s or localhost (a foreign Host is how DNS rebinding reaches a local API)", req.Host, orLocalhost(a.opts.Addr)))
		return false
	}
	if o := req.Header.Get("Origin"); o != "" && !strings.EqualFold(o, "http://"+req.Host) {
		writeError(w, http.StatusForbidden, fmt.Errorf("the Origin %q is not this API (http://%s): requests from web pages are refused", o, req.Host))
		return false
	}
	if a.opts.Token != "" && subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), a.want) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="possim faults"`)
		writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
		return false
	}
	if !changes(req.Method) {
		return true
	}
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("%s needs Content-Type: application/json (got %q)", req.Method, req.Header.Get("Content-Type")))
		return false
	}
	if req.ContentLength > MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes is over the %d KiB limit: send one rule per request", req.ContentLength, MaxBody>>10))
		return false
	}
	req.Body = http.MaxBytesReader(w, req.Body, MaxBody)
	return true
}

func (a *controlAPI) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "seed": a.rs.Seed(),
		"rules": len(a.rs.list.Load().all), "fired": a.rs.TotalFired()})
}

func (a *controlAPI) list(w http.ResponseWriter, _ *http.Request) {
	views := []RuleView{}
	for _, r := range a.rs.list.Load().all {
		views = append(views, a.rs.view(r))
	}
	writeJSON(w, http.StatusOK, map[string]any{"seed": a.rs.Seed(), "faults": views})
}

func (a *controlAPI) add(w http.ResponseWriter, req *http.Request) {
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	r, err := ParseJSON(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	added, status, err := a.addChecked(r)
	if err != nil {
		writeError(w, status, err)
		return
	}
	if cr := a.rs.rule(added.ID); cr != nil {
		writeJSON(w, http.StatusCreated, a.rs.view(cr))
		return
	}
	writeJSON(w, http.StatusCreated, RuleView{ID: added.ID, Label: added.Label(), Type: added.Type, Spec: added.String()})
}

// addChecked adds r unless the set is full or the name is taken, as one
// step against concurrent adds.
func (a *controlAPI) addChecked(r Rule) (Rule, int, error) {
	a.addMu.Lock()
	defer a.addMu.Unlock()
	if n := len(a.rs.list.Load().all); n >= MaxRules {
		return Rule{}, http.StatusConflict, fmt.Errorf("the rule set has %d rules, the most it takes: remove some (DELETE /faults/{id|name}) or POST /faults/reset", n)
	}
	if r.Name != "" {
		if _, dup := a.rs.Find(r.Name); dup {
			return Rule{}, http.StatusConflict, fmt.Errorf("a fault named %q exists: change it with PATCH /faults/%s or pick another name", r.Name, r.Name)
		}
	}
	added, err := a.rs.Add(r)
	if err != nil {
		return Rule{}, http.StatusBadRequest, err
	}
	return added, 0, nil
}

// lookup finds the rule the path names; on failure it has answered.
func (a *controlAPI) lookup(w http.ResponseWriter, req *http.Request) (*rule, bool) {
	ref := req.PathValue("ref")
	r := a.rs.find(ref)
	if r == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("no fault with id, name or label %q (GET /faults lists them)", ref))
		return nil, false
	}
	return r, true
}

func (a *controlAPI) get(w http.ResponseWriter, req *http.Request) {
	if r, ok := a.lookup(w, req); ok {
		writeJSON(w, http.StatusOK, a.rs.view(r))
	}
}

func (a *controlAPI) remove(w http.ResponseWriter, req *http.Request) {
	r, ok := a.lookup(w, req)
	if !ok {
		return
	}
	if !a.rs.Remove(r.ID) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no fault with id %d", r.ID))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *controlAPI) patch(w http.ResponseWriter, req *http.Request) {
	r, ok := a.lookup(w, req)
	if !ok {
		return
	}
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	enabled, patch, err := parsePatch(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if len(patch) > 0 {
		nr, err := Patched(r.Rule, patch)
		if err == nil {
			_, err = a.rs.Replace(r.ID, nr)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("PATCH %s: %v", r.Label(), err))
			return
		}
	}
	if enabled != nil {
		a.rs.SetEnabled(r.ID, *enabled)
	}
	if cr := a.rs.rule(r.ID); cr != nil {
		writeJSON(w, http.StatusOK, a.rs.view(cr))
		return
	}
	writeError(w, http.StatusNotFound, fmt.Errorf("fault %s was removed meanwhile", r.Label()))
}

func (a *controlAPI) fired(w http.ResponseWriter, req *http.Request) {
	f := a.rs.Fired()
	if s := req.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit=%s: want a whole number", s))
			return
		}
		if n < len(f) {
			f = f[len(f)-n:]
		}
	}
	if f == nil {
		f = []Firing{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": a.rs.TotalFired(), "fired": f, "rules": a.rs.Stats()})
}

func changes(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// readBody reads a request body within MaxBody; on failure it has answered.
func readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over the %d KiB limit: send one rule per request", MaxBody>>10))
		} else {
			writeError(w, http.StatusBadRequest, fmt.Errorf("reading the request body: %v", err))
		}
		return nil, false
	}
	return body, true
}

// parsePatch reads a PATCH body: "enabled" and keys of the flag grammar.
func parsePatch(body []byte) (*bool, map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, fmt.Errorf(`PATCH body: want a JSON object such as {"enabled": false} or {"delay": "5s"}: %v`, err)
	}
	if len(raw) == 0 {
		return nil, nil, errors.New(`PATCH body: nothing to change (give "enabled" or attributes)`)
	}
	var enabled *bool
	patch := map[string]string{}
	for k, v := range raw {
		if k == "enabled" {
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, nil, errors.New(`PATCH body: "enabled" must be true or false`)
			}
			enabled = &b
			continue
		}
		if k == "spec" {
			return nil, nil, errors.New(`PATCH body: give the keys to change, not "spec"`)
		}
		s, err := jsonScalar(v)
		if err != nil {
			return nil, nil, fmt.Errorf("PATCH body: %s: %v", k, err)
		}
		patch[k] = s
	}
	return enabled, patch, nil
}

// hostAllowed says whether a Host header names this API: localhost, an IP
// address (the listen address, or any when it listens on all), with the
// listen port when it is known.
func hostAllowed(hostHeader, addr string) bool {
	h, port, err := net.SplitHostPort(hostHeader)
	if err != nil {
		h, port = hostHeader, ""
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	var lh, lp string
	if addr != "" {
		lh, lp, _ = net.SplitHostPort(addr)
	}
	if lp != "" && port != "" && port != lp {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	lip := net.ParseIP(lh)
	switch {
	case addr == "":
		return ip.IsLoopback()
	case lh == "" || lip != nil && lip.IsUnspecified():
		return true // listening on every interface: any address literal
	case lip == nil:
		return ip.IsLoopback()
	}
	return ip.Equal(lip) || ip.IsLoopback() && lip.IsLoopback()
}

func orLocalhost(addr string) string {
	if addr == "" {
		return "127.0.0.1"
	}
	return addr
}

// ListenControl serves NewControl(rs, token) on addr until the returned
// server is closed. It refuses a non-loopback address without a token:
// anyone who can reach the port could otherwise break the links.
func ListenControl(addr, token string, rs *RuleSet) (*http.Server, net.Addr, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("control API address %q: %v", addr, err)
	}
	if token == "" && !isLoopback(host) {
		return nil, nil, fmt.Errorf("control API address %q is not a loopback address: set a token (clients then send \"Authorization: Bearer TOKEN\") or listen on 127.0.0.1", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("control API: %w", err)
	}
	srv := &http.Server{Handler: NewControlWith(rs, ControlOptions{Token: token, Addr: ln.Addr().String()}), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr(), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseJSON reads one rule from JSON: {"spec": "TYPE:key=value,..."}, or
// an object with "type" and the flag grammar's keys, whose values may be
// strings, numbers, booleans or (mti) a list of strings:
//
//	{"type":"delay","mti":["0200","0210"],"p":0.1,"field.39":"05","delay":"35s"}
func ParseJSON(data []byte) (Rule, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Rule{}, fmt.Errorf("fault rule JSON: %v", err)
	}
	if s, ok := raw["spec"]; ok {
		if len(raw) != 1 {
			return Rule{}, errors.New(`fault rule JSON: "spec" goes alone (the other keys are in the spec)`)
		}
		var spec string
		if err := json.Unmarshal(s, &spec); err != nil {
			return Rule{}, fmt.Errorf(`fault rule JSON: "spec" must be a string`)
		}
		return ParseSpec(spec)
	}
	typRaw, ok := raw["type"]
	if !ok {
		return Rule{}, errors.New(`fault rule JSON: want {"spec": "TYPE:key=value,..."} or an object with "type"`)
	}
	var typ string
	if err := json.Unmarshal(typRaw, &typ); err != nil {
		return Rule{}, errors.New(`fault rule JSON: "type" must be a string`)
	}
	t, err := lookupType(typ)
	if err != nil {
		return Rule{}, fmt.Errorf("fault rule JSON: %v", err)
	}
	r := Rule{Type: t.Name}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if k != "type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := jsonScalar(raw[k])
		if err != nil {
			return Rule{}, fmt.Errorf("fault rule JSON: %s: %v", k, err)
		}
		if err := setKey(t, &r, k, v); err != nil {
			return Rule{}, fmt.Errorf("fault rule JSON: %v", err)
		}
	}
	if err := finish(t, &r); err != nil {
		return Rule{}, fmt.Errorf("fault rule JSON: %v", err)
	}
	return r, nil
}

// jsonScalar turns a JSON value into the flag grammar's text.
func jsonScalar(m json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(m))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", errors.New("a list takes strings only")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "|"), nil
	}
	return "", errors.New("want a string, number, boolean or list of strings")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
