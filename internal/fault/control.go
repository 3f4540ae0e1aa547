package fault

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RuleView is a rule as the control API shows it.
type RuleView struct {
	ID    int    `json:"id"`
	Label string `json:"label"`
	Type  string `json:"type"`
	Level Level  `json:"level"`
	Spec  string `json:"spec"` // the rule in the flag grammar
	Seen  uint64 `json:"seen"`
	Fired uint64 `json:"fired"`
}

func (rs *RuleSet) view(r *rule) RuleView {
	return RuleView{ID: r.ID, Label: r.Label(), Type: r.Type, Level: r.t.Level, Spec: r.Rule.String(),
		Seen: r.seen.Load(), Fired: r.fired.Load()}
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
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "seed": rs.Seed(),
			"rules": len(rs.list.Load().all), "fired": rs.TotalFired()})
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		views := []RuleView{}
		for _, r := range rs.list.Load().all {
			views = append(views, rs.view(r))
		}
		writeJSON(w, http.StatusOK, map[string]any{"seed": rs.Seed(), "faults": views})
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 64<<10))
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		r, err := ParseJSON(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		added, err := rs.Add(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if cr := rs.rule(added.ID); cr != nil {
			writeJSON(w, http.StatusCreated, rs.view(cr))
			return
		}
		writeJSON(w, http.StatusCreated, RuleView{ID: added.ID, Label: added.Label(), Type: added.Type, Spec: added.String()})
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, req *http.Request) {
		id, err := strconv.Atoi(req.PathValue("id"))
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("fault id %q is not a number", req.PathValue("id")))
			return
		}
		if !rs.Remove(id) {
			writeError(w, http.StatusNotFound, fmt.Errorf("no fault with id %d", id))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /faults/reset", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"removed": rs.Reset()})
	})
	mux.HandleFunc("GET /fired", func(w http.ResponseWriter, req *http.Request) {
		f := rs.Fired()
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
		writeJSON(w, http.StatusOK, map[string]any{"total": rs.TotalFired(), "fired": f, "rules": rs.Stats()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s: the API has GET /health, GET|POST /faults, DELETE /faults/{id}, POST /faults/reset, GET /fired", req.Method, req.URL.Path))
	})
	if token == "" {
		return mux
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="possim faults"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
			return
		}
		mux.ServeHTTP(w, req)
	})
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
	srv := &http.Server{Handler: NewControl(rs, token), ReadHeaderTimeout: 5 * time.Second,
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
