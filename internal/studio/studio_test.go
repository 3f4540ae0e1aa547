package studio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/outcome"
)

// start runs a studio on an ephemeral loopback port with a short terminal
// timeout, so that failures show quickly.
func start(t *testing.T, token string) *Server {
	t.Helper()
	sv, err := Start(Config{Listen: "127.0.0.1:0", Token: token, Flush: 20 * time.Millisecond,
		Session: Options{Timeout: 400 * time.Millisecond, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sv.Close() })
	waitState(t, sv, "the terminal's link is up", func(s *State) bool { return s.Link == "up" })
	return sv
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body any, hdr map[string]string) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (c client) json(method, path string, body any, want int, into any) {
	c.t.Helper()
	code, out := c.do(method, path, body, nil)
	if code != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, out)
	}
	if into != nil {
		if err := json.Unmarshal(out, into); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
}

func newClient(t *testing.T, sv *Server) client {
	return client{t: t, base: "http://" + sv.Addr(), token: sv.cfg.Token}
}

// waitState waits on the hub's change notifications until cond holds.
func waitState(t *testing.T, sv *Server, what string, cond func(*State) bool) State {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		ch := sv.s.hub.changed()
		b, _ := sv.s.hub.since(0, ^uint64(0))
		if cond(b.State) {
			return *b.State
		}
		select {
		case <-ch:
		case <-time.After(time.Second): // the 1 s tick also changes state
		case <-deadline:
			t.Fatalf("timed out waiting until %s; state: %+v", what, b.State)
		}
	}
}

func (c client) purchase(pan string) TxView {
	c.t.Helper()
	var v TxView
	c.json("POST", "/api/transactions", map[string]string{"kind": "purchase", "amount": "12.34", "pan": pan}, http.StatusAccepted, &v)
	c.json("GET", fmt.Sprintf("/api/transactions/%d?wait=20s", v.ID), nil, http.StatusOK, &v)
	if !v.Done {
		c.t.Fatalf("transaction %d not done after 20 s", v.ID)
	}
	return v
}

func TestPurchaseApprovedAndDeclinedWithCause(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	v := c.purchase("")
	if v.Class != "approved" || v.Screen.Line1 != "APPROVED" || v.Cause != nil {
		t.Fatalf("purchase: %+v", v)
	}
	v = c.purchase("4000000000000002")
	if v.Class != "declined" || v.Screen.Line1 != "DECLINED 51 — insufficient funds" || v.Cause == nil || v.Cause.ID != "issuer.insufficient_funds" || v.Cause.Fix == "" {
		t.Fatalf("declined purchase: %+v (cause %+v)", v, v.Cause)
	}
	if strings.Contains(string(mustJSON(t, v)), "4000000000000002") {
		t.Fatal("a transaction view carries the full PAN")
	}
	st := waitState(t, sv, "the failure is listed", func(s *State) bool { return len(s.Failures) == 1 })
	if st.Failures[0].Cause.Title != "insufficient funds" || st.Screen.Line1 != "DECLINED 51 — insufficient funds" {
		t.Fatalf("state: %+v", st)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readBatches reads the SSE stream until cond holds on the rows seen.
func readBatches(t *testing.T, sv *Server, cond func(rows map[int64]*Row) bool) map[int64]*Row {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+sv.Addr()+"/api/events", nil)
	if sv.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+sv.cfg.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	rows := map[int64]*Row{}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(20 * time.Second): // a bound, not a wait: the rows come in well under a second
			resp.Body.Close()
		}
	}()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var b Batch
		if err := json.Unmarshal([]byte(line[6:]), &b); err != nil {
			t.Fatal(err)
		}
		if b.Reset {
			rows = map[int64]*Row{}
		}
		for _, r := range b.Rows {
			rows[r.N] = r
		}
		if cond(rows) {
			return rows
		}
	}
	t.Fatalf("stream ended before the rows expected; got %d rows", len(rows))
	return nil
}

func find(rows map[int64]*Row, f func(*Row) bool) *Row {
	var best *Row
	for _, r := range rows {
		if f(r) && (best == nil || r.N > best.N) {
			best = r
		}
	}
	return best
}

func TestStreamShowsLostAnswerAndReversal(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	// The library's response-lost failure, through the control API.
	c.json("POST", "/api/control/host/faults", map[string]string{"spec": "drop:name=lost-0210,mti=0210,count=1"}, http.StatusCreated, nil)
	v := c.purchase("")
	if v.Class != "timeout_reversed" || v.Screen.Line1 != "NO RESPONSE — REVERSING" || v.Cause == nil || v.Cause.ID != "response.never_sent" {
		t.Fatalf("purchase with the answer dropped: %+v", v)
	}
	rows := readBatches(t, sv, func(rows map[int64]*Row) bool {
		return find(rows, func(r *Row) bool { return r.Type == RowMsg && r.MTI == "0410" && r.State == StateDone }) != nil
	})
	lost := find(rows, func(r *Row) bool { return r.Type == RowMsg && r.MTI == "0210" && r.STAN == v.STAN })
	if lost == nil || lost.State != StateLost || lost.From != LaneHost || len(lost.Faults) != 1 || !strings.Contains(lost.Faults[0], "lost-0210") {
		t.Fatalf("the dropped 0210: %+v", lost)
	}
	rev := find(rows, func(r *Row) bool { return r.Type == RowMsg && r.MTI == "0400" })
	if rev == nil || rev.N < lost.N || rev.State != StateDone || rev.From != LaneTerminal {
		t.Fatalf("the reversal: %+v", rev)
	}
	out := find(rows, func(r *Row) bool { return r.Type == RowOutcome && r.Tx != nil && r.Tx.ID == v.ID })
	if out == nil || !strings.Contains(out.Text, "never answered") {
		t.Fatalf("the outcome row: %+v", out)
	}
	// The active faults, through the same control API the page uses.
	var list struct {
		Faults []struct{ Fired int } `json:"faults"`
	}
	c.json("GET", "/api/control/host/faults", nil, http.StatusOK, &list)
	if len(list.Faults) != 1 || list.Faults[0].Fired != 1 {
		t.Fatalf("active faults: %+v", list)
	}
}

func TestLateAnswerArrivesAfterTheReversal(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	var cat struct{ Modes []FailureMode }
	c.json("GET", "/api/catalogue", nil, http.StatusOK, &cat)
	var late *FailureMode
	for i := range cat.Modes {
		if cat.Modes[i].Name == "late-response" {
			late = &cat.Modes[i]
		}
	}
	if late == nil || !late.Live || len(late.Faults) != 1 {
		t.Fatalf("late-response mode: %+v", late)
	}
	c.json("POST", "/api/control/"+late.Faults[0].Side+"/faults", map[string]string{"spec": late.Faults[0].Spec}, http.StatusCreated, nil)
	v := c.purchase("")
	if v.Class != "timeout_reversed" {
		t.Fatalf("purchase: %+v", v)
	}
	rows := readBatches(t, sv, func(rows map[int64]*Row) bool {
		return find(rows, func(r *Row) bool { return r.Type == RowArrival && r.MTI == "0210" && r.State == StateLate }) != nil
	})
	arr := find(rows, func(r *Row) bool { return r.Type == RowArrival && r.MTI == "0210" })
	rev := find(rows, func(r *Row) bool { return r.Type == RowMsg && r.MTI == "0410" })
	orig := find(rows, func(r *Row) bool { return r.Type == RowMsg && r.MTI == "0210" && r.STAN == v.STAN })
	if arr == nil || rev == nil || orig == nil || arr.N < rev.N || orig.Arrival != arr.N || orig.State != StateLate || orig.LateMS <= 0 {
		t.Fatalf("late 0210 %+v, its arrival %+v, the 0410 %+v", orig, arr, rev)
	}
}

func TestMessageDetailsAreMasked(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	c.purchase("")
	rows := readBatches(t, sv, func(rows map[int64]*Row) bool {
		return find(rows, func(r *Row) bool { return r.MTI == "0200" }) != nil
	})
	r := find(rows, func(r *Row) bool { return r.MTI == "0200" })
	var d MessageDump
	c.json("GET", fmt.Sprintf("/api/messages/%d", r.Msg), nil, http.StatusOK, &d)
	if len(d.Copies) == 0 || !strings.Contains(d.Copies[0].Fields, "476173******0010") || !strings.Contains(d.Copies[0].Hex, "**") {
		t.Fatalf("dump: %+v", d)
	}
	raw, _ := json.Marshal(d)
	pan := "4761739001010010"
	if strings.Contains(string(raw), pan) || strings.Contains(string(raw), fmt.Sprintf("%x", pan)) || strings.Contains(strings.ReplaceAll(string(raw), " ", ""), fmt.Sprintf("%x", pan)) {
		t.Fatalf("the dump shows the full PAN: %s", raw)
	}
	code, out := c.do("GET", "/api/messages/999999", nil, nil)
	if code != http.StatusNotFound || !strings.Contains(string(out), "no longer kept") {
		t.Fatalf("unknown message: %d %s", code, out)
	}
}

// TestHexMasksWhatDescribeMasks: every field the hex hides is one the
// masked describe hides, and the other way round for the fields a
// terminal sends.
func TestHexMasksWhatDescribeMasks(t *testing.T) {
	d, _ := iso.Lookup("iso87ascii")
	m := d.NewMessage()
	m.MTI("0200")
	vals := map[int]string{2: "4111111111111111", 3: "000000", 11: "000123", 35: "4111111111111111=28121010000000000000",
		41: "TERM0001", 62: "SECRETKEYBLOCK"}
	for id, v := range vals {
		if err := iso.Set(m, id, v); err != nil {
			t.Fatal(id, err)
		}
	}
	for _, id := range []int{52, 64} { // 8 binary bytes
		if err := m.BinaryField(id, []byte("\xfe\xdc\xba\x98SECR")); err != nil {
			t.Fatal(id, err)
		}
	}
	var b strings.Builder
	if err := iso.Describe(&b, m); err != nil {
		t.Fatal(err)
	}
	hexDump, n := maskedHex(m)
	if n == 0 || strings.Contains(hexDump, "withheld") {
		t.Fatalf("hex: %s", hexDump)
	}
	for id, v := range vals {
		_, secret := sensitiveFields[id]
		if strings.Contains(b.String(), v) == secret {
			t.Errorf("field %d: describe shows it: %v, hex hides it: %v", id, !secret, secret)
		}
	}
	flat := strings.ReplaceAll(hexDump, " ", "")
	for _, v := range []string{"4111111111111111", "SECRETKEY", "\xfe\xdc\xba\x98SECR", "fedcba98"} {
		if strings.Contains(flat, fmt.Sprintf("%x", v[:8])) || strings.Contains(hexDump, v[:8]) {
			t.Errorf("hex shows %s", v)
		}
	}
}

func TestGuards(t *testing.T) {
	sv := start(t, "s3cret")
	c := newClient(t, sv)
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		body               any
		want               int
	}{
		{"foreign Host (DNS rebinding)", "GET", "/api/state", map[string]string{"Host": "evil.example:" + sv.port}, nil, http.StatusMisdirectedRequest},
		{"foreign Origin", "GET", "/api/state", map[string]string{"Origin": "http://evil.example"}, nil, http.StatusForbidden},
		{"no token", "GET", "/api/state", map[string]string{"Authorization": ""}, nil, http.StatusUnauthorized},
		{"wrong token", "GET", "/api/state", map[string]string{"Authorization": "Bearer nope"}, nil, http.StatusUnauthorized},
		{"form post", "POST", "/api/transactions", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, map[string]string{}, http.StatusUnsupportedMediaType},
		{"control API needs JSON too", "DELETE", "/api/control/host/faults/1", map[string]string{"Content-Type": "text/plain"}, map[string]string{}, http.StatusUnsupportedMediaType},
		{"same origin", "GET", "/api/state", map[string]string{"Origin": "http://" + sv.Addr()}, nil, http.StatusOK},
		{"localhost by name", "GET", "/api/state", map[string]string{"Host": "localhost:" + sv.port}, nil, http.StatusOK},
		{"the page needs no token", "GET", "/", map[string]string{"Authorization": ""}, nil, http.StatusOK},
		{"unknown endpoint", "GET", "/api/nope", nil, nil, http.StatusNotFound},
	}
	for _, tc := range cases {
		code, out := c.do(tc.method, tc.path, tc.body, tc.hdr)
		if code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, code, tc.want, out)
		}
	}
	if _, err := Start(Config{Listen: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("listening off loopback without a token: %v", err)
	}
}

func TestBadInputSaysWhat(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	cases := []struct {
		path string
		body any
		want string
	}{
		{"/api/transactions", map[string]string{"kind": "purchase", "amount": "12.345"}, "at most 2 decimals"},
		{"/api/transactions", map[string]string{"kind": "teleport"}, "unknown transaction"},
		{"/api/transactions", map[string]string{"kind": "purchase", "pan": "12"}, "12 to 19 digits"},
		{"/api/transactions", map[string]any{"kind": "purchase", "colour": "red"}, "unknown field"},
		{"/api/stream", map[string]int{"tps": 1e6}, "want 0 (stop)"},
		{"/api/scenario", map[string]any{"name": "happy-pat"}, "no scenario"},
		{"/api/scenario", map[string]any{"name": "happy-path", "speed": 11}, "speed 11"},
		{"/api/scenario/step", map[string]any{}, "no scenario on stage"},
		{"/api/actions/explode", map[string]any{}, "unknown action"},
		{"/api/control/host/faults", map[string]string{"spec": "dorp:mti=0210"}, "did you mean"},
	}
	for _, tc := range cases {
		code, out := c.do("POST", tc.path, tc.body, nil)
		if code < 400 || code >= 500 || !strings.Contains(string(out), tc.want) {
			t.Errorf("POST %s %v: %d %s, want an error containing %q", tc.path, tc.body, code, out, tc.want)
		}
	}
}

func TestScenarioPauseStepPlay(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	c.json("POST", "/api/scenario", map[string]any{"name": "response-lost", "paused": true}, http.StatusAccepted, nil)
	st := waitState(t, sv, "step 1 waits", func(s *State) bool {
		return s.Scenario != nil && s.Scenario.Status == "paused" && len(s.Scenario.Steps) > 0 && s.Scenario.Steps[0].State == "next"
	})
	if !strings.Contains(st.Scenario.Description, "MERCHANT SEES") || len(st.Scenario.Expect) == 0 {
		t.Fatalf("scenario view: %+v", st.Scenario)
	}
	c.json("POST", "/api/scenario/step", map[string]any{}, http.StatusOK, nil)
	st = waitState(t, sv, "step 1 done, its expectation met, step 2 waits", func(s *State) bool {
		return s.Scenario.Steps[0].State == "done" && s.Scenario.Steps[1].State == "next" && s.Scenario.Expect[0].State == "met"
	})
	if st.Scenario.Steps[2].State != "todo" {
		t.Fatalf("a paused scenario went on: %+v", st.Scenario.Steps)
	}
	c.json("POST", "/api/scenario/speed", map[string]any{"speed": 2}, http.StatusOK, nil)
	waitState(t, sv, "slow motion ×2", func(s *State) bool { return s.Scenario.Speed == 2 })
	c.json("POST", "/api/scenario/play", map[string]any{}, http.StatusOK, nil)
	st = waitState(t, sv, "the scenario ends", func(s *State) bool { return s.Scenario.Status == "done" })
	if st.Scenario.Passed == nil || !*st.Scenario.Passed || !strings.HasPrefix(st.Scenario.Verdict, "PASS") {
		t.Fatalf("scenario: %+v", st.Scenario)
	}
	for _, x := range st.Scenario.Expect {
		if x.State != "met" {
			t.Errorf("expectation %q: %s %s", x.Text, x.State, x.Evidence)
		}
	}
	code, out := c.do("POST", "/api/scenario/pause", map[string]any{}, nil)
	if code != http.StatusConflict || !strings.Contains(string(out), "ended") {
		t.Fatalf("pause after the end: %d %s", code, out)
	}
}

func TestTraceDownload(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	c.purchase("")
	var tr struct {
		Units map[string]string `json:"units"`
		Rows  []Row             `json:"rows"`
	}
	c.json("GET", "/api/trace.json", nil, http.StatusOK, &tr)
	if tr.Units["at_ms"] == "" || len(tr.Rows) < 4 {
		t.Fatalf("trace: %+v", tr)
	}
	// "load older": the rows before a row, oldest first.
	last := tr.Rows[len(tr.Rows)-1].N
	var older struct {
		Rows   []Row `json:"rows"`
		Oldest int64 `json:"oldest"`
	}
	c.json("GET", fmt.Sprintf("/api/ladder?before=%d&limit=2", last), nil, http.StatusOK, &older)
	if len(older.Rows) != 2 || older.Rows[0].N != last-2 || older.Rows[1].N != last-1 || older.Oldest != 1 {
		t.Fatalf("older rows: %+v", older)
	}
	if code, out := c.do("GET", "/api/ladder?before=x", nil, nil); code != http.StatusBadRequest {
		t.Fatalf("bad before: %d %s", code, out)
	}
}

func TestProxyIsTheThirdLane(t *testing.T) {
	sv, err := Start(Config{Listen: "127.0.0.1:0", Flush: 20 * time.Millisecond,
		Session: Options{Timeout: 400 * time.Millisecond, Seed: 1, Proxy: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sv.Close() })
	waitState(t, sv, "the terminal's link is up", func(s *State) bool { return s.Link == "up" })
	c := newClient(t, sv)
	if v := c.purchase(""); v.Class != "approved" {
		t.Fatalf("purchase through the proxy: %+v", v)
	}
	hops := [][2]string{{LaneTerminal, LaneProxy}, {LaneProxy, LaneHost}, {LaneHost, LaneProxy}, {LaneProxy, LaneTerminal}}
	mtis := []string{"0200", "0200", "0210", "0210"}
	rows := readBatches(t, sv, func(rows map[int64]*Row) bool {
		for i, hop := range hops {
			if find(rows, func(r *Row) bool {
				return r.MTI == mtis[i] && r.From == hop[0] && r.To == hop[1] && r.State == StateDone
			}) == nil {
				return false
			}
		}
		return true
	})
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	// A fault on the proxy: the answer is dropped between proxy and terminal.
	c.json("POST", "/api/control/proxy/faults", map[string]string{"spec": "drop:mti=0210,count=1"}, http.StatusCreated, nil)
	v := c.purchase("")
	if v.Class != "timeout_reversed" {
		t.Fatalf("purchase with the proxy dropping its answer: %+v", v)
	}
	rows = readBatches(t, sv, func(rows map[int64]*Row) bool {
		return find(rows, func(r *Row) bool {
			return r.MTI == "0210" && r.STAN == v.STAN && r.From == LaneProxy && r.State == StateLost
		}) != nil
	})
	lost := find(rows, func(r *Row) bool { return r.MTI == "0210" && r.STAN == v.STAN && r.From == LaneProxy })
	if len(lost.Faults) != 1 || lost.To != LaneTerminal {
		t.Fatalf("the answer dropped at the proxy: %+v", lost)
	}
}

func TestCaptureDownload(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	v := c.purchase("")
	code, body := c.do("GET", "/api/capture.pcap", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("pcap: %d %s", code, body)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	packets := 0
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v (the download must end on a whole packet)", packets+1, err)
		}
		packets++
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			payload = append(payload, tcp.Payload...)
		}
	}
	// The sign-on and the purchase, both ways: 0800 0810 0200 0210.
	for _, mti := range []string{"0800", "0810", "0200", "0210"} {
		if !bytes.Contains(payload, []byte(mti)) {
			t.Errorf("the capture (%d packets) lacks a %s", packets, mti)
		}
	}
	if !bytes.Contains(payload, []byte(v.STAN)) {
		t.Errorf("the capture lacks the purchase's STAN %s", v.STAN)
	}
}

// TestPCAPSinkEndsOnWholeRecords: a download taken in the middle of a
// record's writes stops before it.
func TestPCAPSinkEndsOnWholeRecords(t *testing.T) {
	s, err := newPCAPSink(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(b []byte) {
		if _, err := s.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write(make([]byte, 24)) // file header
	rec := make([]byte, 16)
	rec[8] = 5 // 5 bytes of packet
	write(rec[:10])
	if s.complete != 24 {
		t.Fatalf("complete %d after half a record header", s.complete)
	}
	write(append(rec[10:], 1, 2))
	write([]byte{3, 4})
	if s.complete != 24 {
		t.Fatalf("complete %d with a byte of the packet to come", s.complete)
	}
	write([]byte{5})
	if s.complete != 24+16+5 {
		t.Fatalf("complete %d after the record", s.complete)
	}
	big := make([]byte, 1<<20)
	if _, err := s.Write(big); err == nil || !s.full {
		t.Fatal("a write past the bound was accepted")
	}
}

func TestActionsBreakAndTheTerminalRecovers(t *testing.T) {
	sv := start(t, "")
	c := newClient(t, sv)
	c.json("POST", "/api/actions/drop_link", map[string]any{}, http.StatusOK, nil)
	rows := readBatches(t, sv, func(rows map[int64]*Row) bool {
		return find(rows, func(r *Row) bool { return r.Type == RowNote && strings.Contains(r.Text, "cable is pulled") }) != nil &&
			len(rowsWhere(rows, func(r *Row) bool { return r.MTI == "0810" && r.State == StateDone })) >= 2
	})
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	// Reconnected and signed on again: the next purchase is approved.
	waitState(t, sv, "the link is back", func(s *State) bool { return s.Link == "up" })
	if v := c.purchase(""); v.Class != "approved" {
		t.Fatalf("after the cable came back: %+v", v)
	}
	c.json("POST", "/api/actions/host_down", map[string]any{}, http.StatusOK, nil)
	waitState(t, sv, "the host is down", func(s *State) bool { return !s.HostUp })
	v := c.purchase("")
	if v.Class == "approved" || v.Cause == nil {
		t.Fatalf("with the host down: %+v", v)
	}
}

func rowsWhere(rows map[int64]*Row, f func(*Row) bool) []*Row {
	var out []*Row
	for _, r := range rows {
		if f(r) {
			out = append(out, r)
		}
	}
	return out
}

// TestEveryClassHasAScreen: every outcome class shows the merchant words,
// not the in-progress screen.
func TestEveryClassHasAScreen(t *testing.T) {
	for _, c := range outcome.Classes() {
		tx := TxView{Class: c.String(), RC: "05", Kind: "purchase"}
		if s := screenFor(&tx); s.Line1 == "PROCESSING" || s.Line1 == "" || s.Icon == "" {
			t.Errorf("class %s: screen %+v", c, s)
		}
	}
}
