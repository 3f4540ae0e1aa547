package fault

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t testing.TB, h http.Handler, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
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
	if code, out := do(t, h, "DELETE", "/faults/2", "", ""); code != 404 || !strings.Contains(out["error"].(string), "no fault with id 2") {
		t.Fatalf("delete again: %d %v", code, out)
	}
	if code, _ := do(t, h, "DELETE", "/faults/x", "", ""); code != 400 {
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
