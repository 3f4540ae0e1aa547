package fault

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func do(t testing.TB, h http.Handler, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "127.0.0.1:8474"
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, w.Body.String())
		}
	}
	return w.Code, out
}

func TestControl(t *testing.T) {
	rs := mustNew(t, Options{Seed: 77}, "drop:mti=0210,p=0.5")
	h := NewControl(rs, "")
	code, out := do(t, h, "GET", "/health", "", "")
	if code != 200 || out["status"] != "ok" || out["seed"].(float64) != 77 || out["rules"].(float64) != 1 {
		t.Fatalf("%d %v", code, out)
	}
	code, out = do(t, h, "POST", "/faults", `{"spec":"delay:mti=0210,delay=2s"}`, "")
	if code != 201 || out["id"].(float64) != 2 || out["spec"] != "delay:mti=0210,delay=2s" || out["level"] != "message" {
		t.Fatalf("%d %v", code, out)
	}
	code, out = do(t, h, "POST", "/faults", `{"type":"rc","mti":["0210","0110"],"p":0.25,"field.3":"000000","rc":"05","name":"five"}`, "")
	if code != 201 || out["spec"] != "rc:name=five,mti=0210|0110,field.3=000000,p=0.25,rc=05" {
		t.Fatalf("%d %v", code, out)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"spec":"dely"}`, `did you mean "delay"`},
		{`{"spec":"delay:p=2"}`, "probability must be between 0 and 1"},
		{`{"type":"delay","bogus":1}`, "bogus=1: unknown key for delay"},
		{`{"spec":"drop","p":1}`, `"spec" goes alone`},
		{`{"mti":"0210"}`, `"type"`},
		{`not json`, "fault rule JSON"},
		{`{"type":"drop","mti":[1]}`, "strings only"},
	} {
		code, out := do(t, h, "POST", "/faults", bad.body, "")
		if code != 400 || !strings.Contains(out["error"].(string), bad.want) {
			t.Errorf("%s: %d %v", bad.body, code, out)
		}
	}
	// Fire rule 2 (delay) and rule 1 maybe: see them in /faults and /fired.
	ic := rs.Interceptor(Host)
	for i := range 10 {
		ic.Outbound(resp(t, i+1))
	}
	code, out = do(t, h, "GET", "/faults", "", "")
	faults := out["faults"].([]any)
	if code != 200 || len(faults) != 3 || faults[1].(map[string]any)["fired"].(float64) == 0 {
		t.Fatalf("%d %v", code, out)
	}
	code, out = do(t, h, "GET", "/fired?limit=3", "", "")
	if code != 200 || len(out["fired"].([]any)) != 3 || out["total"].(float64) < 3 {
		t.Fatalf("%d %v", code, out)
	}
	last := out["fired"].([]any)[2].(map[string]any)
	if last["stream"] != "downstream" || last["mti"] != "0210" || last["stan"] != "000010" {
		t.Fatalf("%v", last)
	}
	if code, _ := do(t, h, "DELETE", "/faults/2", "", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, out := do(t, h, "DELETE", "/faults/2", "", ""); code != 404 || !strings.Contains(out["error"].(string), `no fault with id, name or label "2"`) {
		t.Fatalf("delete again: %d %v", code, out)
	}
	if code, _ := do(t, h, "DELETE", "/faults/x", "", ""); code != 404 {
		t.Fatalf("delete x: %d", code)
	}
	if code, out := do(t, h, "POST", "/faults/reset", "", ""); code != 200 || out["removed"].(float64) != 2 {
		t.Fatalf("reset: %d %v", code, out)
	}
	if p := ic.Outbound(resp(t, 1)); len(p.Fired) != 0 {
		t.Fatalf("rules still fire after reset: %v", p.Fired)
	}
	if code, _ := do(t, h, "GET", "/nope", "", ""); code != 404 {
		t.Fatal(code)
	}
}

func TestControlToken(t *testing.T) {
	h := NewControl(mustNew(t, Options{Seed: 1}), "s3cret")
	if code, _ := do(t, h, "GET", "/health", "", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := do(t, h, "GET", "/health", "", "wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, _ := do(t, h, "GET", "/health", "", "s3cret"); code != 200 {
		t.Fatalf("token: %d", code)
	}
}

func TestListenControl(t *testing.T) {
	rs := mustNew(t, Options{Seed: 1})
	if _, _, err := ListenControl("0.0.0.0:0", "", rs); err == nil || !strings.Contains(err.Error(), "not a loopback address: set a token") {
		t.Fatalf("%v", err)
	}
	if _, _, err := ListenControl(":0", "", rs); err == nil {
		t.Fatal("all interfaces without a token")
	}
	srv, addr, err := ListenControl("127.0.0.1:0", "tok", rs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	req, _ := http.NewRequest("POST", "http://"+addr.String()+"/faults", strings.NewReader(`{"spec":"blackhole"}`))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || !strings.Contains(string(b), `"level": "link"`) {
		t.Fatalf("%d %s", res.StatusCode, b)
	}
	if len(rs.Rules()) != 1 {
		t.Fatal("rule not added")
	}
	res, err = cl.Get("http://" + addr.String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("no token: %d", res.StatusCode)
	}
}

// httpCall makes a real HTTP request to the control API.
func httpCall(t *testing.T, method, url, ctype, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		if k == "X-Chunked" {
			req.ContentLength = -1 // sent chunked: the server learns the size by reading
			req.Body = io.NopCloser(strings.NewReader(body))
			continue
		}
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The defences against web pages and oversized input, over real HTTP.
func TestControlRefusesWebPagesAndLimits(t *testing.T) {
	rs := mustNew(t, Options{Seed: 1})
	srv, addr, err := ListenControl("127.0.0.1:0", "", rs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + addr.String()
	_, port, _ := strings.Cut(addr.String(), ":")
	rule := `{"spec":"crash:down=1h"}`
	for _, tc := range []struct {
		name, method, path, ctype, body string
		hdr                             map[string]string
		code                            int
		want                            string
	}{
		{"cross-site text/plain POST", "POST", "/faults", "text/plain", rule, nil, 415, "needs Content-Type: application/json"},
		{"form POST", "POST", "/faults", "application/x-www-form-urlencoded", rule, nil, 415, "application/json"},
		{"no content type", "POST", "/faults/reset", "", "", nil, 415, "application/json"},
		{"foreign Origin", "POST", "/faults", "application/json", rule, map[string]string{"Origin": "http://evil.example"}, 403, "requests from web pages are refused"},
		{"null Origin", "GET", "/faults", "", "", map[string]string{"Origin": "null"}, 403, "Origin"},
		{"DNS rebinding Host", "GET", "/faults", "", "", map[string]string{"Host": "evil.example:" + port}, 421, "DNS rebinding"},
		{"other port", "GET", "/fired", "", "", map[string]string{"Host": "127.0.0.1:1"}, 421, "not this API's address"},
	} {
		code, body := httpCall(t, tc.method, base+tc.path, tc.ctype, tc.body, tc.hdr)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
	}
	// A 10 MB body: 413 with a clear message, before the body is read.
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /faults HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"spec\":\"", addr, 10<<20)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 413 || !strings.Contains(string(b), "over the 64 KiB limit") {
		t.Fatalf("10 MB body: %d %s", res.StatusCode, b)
	}
	// Without a length (chunked), the limit cuts the read.
	if code, body := httpCall(t, "POST", base+"/faults", "application/json", `{"spec":"`+strings.Repeat("x", 100<<10)+`"}`, map[string]string{"X-Chunked": "1"}); code != 413 || !strings.Contains(body, "64 KiB limit") {
		t.Fatalf("100 KB body: %d %s", code, body)
	}
	if n := len(rs.Rules()); n != 0 {
		t.Fatalf("a refused request added %d rules", n)
	}
	// What is allowed: localhost, the API's own origin.
	for _, hdr := range []map[string]string{{"Host": "localhost:" + port}, {"Origin": base}} {
		if code, body := httpCall(t, "POST", base+"/faults", "application/json; charset=utf-8", `{"spec":"drop:mti=0210"}`, hdr); code != 201 {
			t.Fatalf("%v: %d %s", hdr, code, body)
		}
	}
	// At most MaxRules rules.
	for i := len(rs.Rules()); i < MaxRules; i++ {
		if _, err := rs.Add(Rule{Type: "drop"}); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := httpCall(t, "POST", base+"/faults", "application/json", `{"spec":"drop"}`, nil); code != 409 || !strings.Contains(body, "the most it takes") {
		t.Fatalf("rule %d: %d %s", MaxRules+1, code, body)
	}
}

// Rules by name: GET, PATCH (attributes, enabled) and DELETE.
func TestControlByName(t *testing.T) {
	rs := mustNew(t, Options{Seed: 1})
	srv, addr, err := ListenControl("127.0.0.1:0", "", rs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + addr.String()
	js := "application/json"
	if code, body := httpCall(t, "POST", base+"/faults", js, `{"type":"delay","name":"slowlink","mti":"0210","delay":"2s"}`, nil); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := httpCall(t, "POST", base+"/faults", js, `{"spec":"drop:name=slowlink"}`, nil); code != 409 || !strings.Contains(body, "exists") {
		t.Fatalf("same name twice: %d %s", code, body)
	}
	ic := rs.Interceptor(Host)
	if p := ic.Outbound(resp(t, 1)); p.Delay != 2*time.Second {
		t.Fatalf("delay %v", p.Delay)
	}
	code, body := httpCall(t, "PATCH", base+"/faults/slowlink", js, `{"delay":"5s"}`, nil)
	if code != 200 || !strings.Contains(body, "delay=5s") || !strings.Contains(body, `"enabled": true`) {
		t.Fatalf("patch delay: %d %s", code, body)
	}
	if p := ic.Outbound(resp(t, 2)); p.Delay != 5*time.Second {
		t.Fatalf("after PATCH: delay %v", p.Delay)
	}
	if code, body := httpCall(t, "PATCH", base+"/faults/slowlink", js, `{"enabled":false}`, nil); code != 200 || !strings.Contains(body, `"enabled": false`) {
		t.Fatalf("disable: %d %s", code, body)
	}
	if p := ic.Outbound(resp(t, 3)); len(p.Fired) != 0 {
		t.Fatalf("a disabled rule fired: %v", p.Fired)
	}
	if code, _ := httpCall(t, "PATCH", base+"/faults/slowlink", js, `{"enabled":true}`, nil); code != 200 {
		t.Fatal(code)
	}
	if p := ic.Outbound(resp(t, 4)); p.Delay != 5*time.Second {
		t.Fatalf("enabled again: delay %v", p.Delay)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"delay":"soon"}`, "delay"},
		{`{"type":"drop"}`, "cannot change"},
		{`{}`, "nothing to change"},
		{`{"enabled":"no"}`, "true or false"},
	} {
		if code, body := httpCall(t, "PATCH", base+"/faults/slowlink", js, bad.body, nil); code != 400 || !strings.Contains(body, bad.want) {
			t.Errorf("PATCH %s: %d %s", bad.body, code, body)
		}
	}
	if code, body := httpCall(t, "GET", base+"/faults/1", "", "", nil); code != 200 || !strings.Contains(body, "slowlink") {
		t.Fatalf("by label: %d %s", code, body)
	}
	if code, _ := httpCall(t, "DELETE", base+"/faults/slowlink", js, "", nil); code != 204 {
		t.Fatalf("delete by name: %d", code)
	}
	if code, body := httpCall(t, "DELETE", base+"/faults/slowlink", js, "", nil); code != 404 || !strings.Contains(body, "no fault") {
		t.Fatalf("delete again: %d %s", code, body)
	}
}
