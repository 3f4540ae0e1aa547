package host

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyMain(closeAfter{m}, testkit.IgnoreMoovReader) }

var ascii, _ = iso.Lookup("iso87ascii")

func startHost(t *testing.T, cfg Config) *Host {
	t.Helper()
	cfg.Listen = testkit.Loopback
	h, err := New(cfg)
	return testkit.Serve(t, h, err)
}

func financial(t testing.TB, mti, stan, pan, amount string) *iso8583.Message {
	m := ascii.NewMessage()
	m.MTI(mti)
	for id, v := range map[int]string{2: pan, 3: "000000", 4: amount, 7: "1127101500", 11: stan, 12: "101500", 13: "1127", 22: "051", 25: "00", 41: "TERM0001", 42: "MERCHANT0000001", 49: "978"} {
		if err := iso.Set(m, id, v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Interop: a moov-io/iso8583-connection client — an independent, widely used
// implementation — sends to our host and gets matched answers.
func TestMoovConnectionClientInterop(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii})
	c, err := connection.New(h.Addr().String(), ascii.Spec, testkit.ReadLen, testkit.WriteLen, connection.SendTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cases := []struct{ pan, rc string }{{"4761739001010010", "00"}, {"4000000000000002", "51"}, {"4000000000000069", "54"}}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc := cases[i%len(cases)]
			stan := fmt.Sprintf("%06d", i+1)
			resp, err := c.Send(financial(t, "0200", stan, tc.pan, "1000"))
			if err != nil {
				errs <- err
				return
			}
			mti, _ := resp.GetMTI()
			if mti != "0210" || iso.Get(resp, 11) != stan || iso.Get(resp, 39) != tc.rc {
				errs <- fmt.Errorf("stan %s: got %s", stan, iso.Summary(resp))
			}
			if tc.rc == "00" && (iso.Get(resp, 38) == "" || len(iso.Get(resp, 37)) != 12) {
				errs <- fmt.Errorf("approval without auth code or RRN: %s", iso.Summary(resp))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c2 := h.Ledger().Counts()
	if c2.Approved != 20 || c2.Declined != 40 {
		t.Fatalf("ledger %+v", c2)
	}
}

func rawConn(t *testing.T, h *Host) net.Conn { return testkit.Dial(t, h.Addr().String()) }

var frame = testkit.Frame

func readFrame(t *testing.T, c net.Conn) *iso8583.Message {
	t.Helper()
	m, err := ascii.Unpack(testkit.ReadFrame(t, c))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A request whose fields fail to unpack but whose MTI and STAN can be read
// gets RC 30; unreadable frames are recorded and the link stays up.
func TestMalformedFramesFromRawSocket(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii})
	c := rawConn(t, h)
	good, _ := financial(t, "0200", "000042", "4761739001010010", "1000").Pack()
	// Cut the last field (49, currency) short: the fields before it, STAN
	// included, still unpack.
	bad := good[:len(good)-2]
	_, _ = c.Write(frame(bad))
	m := readFrame(t, c)
	if iso.Get(m, 39) != "30" || iso.Get(m, 11) != "000042" {
		t.Fatalf("want RC 30 for STAN 000042, got %s", iso.Summary(m))
	}
	// Garbage with no MTI: recorded, no answer, link stays up.
	_, _ = c.Write(frame([]byte("hello, world")))
	_, _ = c.Write(frame(good))
	m = readFrame(t, c)
	if iso.Get(m, 39) != "00" || iso.Get(m, 11) != "000042" {
		t.Fatalf("link did not survive garbage: %s", iso.Summary(m))
	}
	if lastEvent(h, EventFormat, "format error") == "" || lastEvent(h, EventMessage, "bad-message") == "" {
		t.Fatalf("events do not record the bad frames:\n%s", strings.Join(h.Events(), "\n"))
	}
	// A length header of the wrong format (ASCII where binary is expected)
	// loses framing: the host records why and closes the link.
	_, _ = c.Write([]byte("0200")) // 0x3032 = 12338 bytes, over the 8192 limit
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("link still up after framing was lost: %v", err)
	}
	waitFor(t, func() bool { return lastEvent(h, EventLink, "wrong length-header format") != "" })
}

func waitFor(t *testing.T, cond func() bool) { t.Helper(); testkit.WaitFor(t, cond) }

func TestReversalFindsOriginalOnce(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii})
	c := rawConn(t, h)
	orig := financial(t, "0200", "000007", "4761739001010010", "2500")
	b, _ := orig.Pack()
	_, _ = c.Write(frame(b))
	if m := readFrame(t, c); iso.Get(m, 39) != "00" {
		t.Fatalf("purchase: %s", iso.Summary(m))
	}
	for i, mti := range []string{"0400", "0401", "0401"} {
		rev := financial(t, mti, "000008", "4761739001010010", "2500")
		_ = iso.Set(rev, 90, "0200"+"000007"+"1127101500"+strings.Repeat("0", 22))
		b, _ := rev.Pack()
		_, _ = c.Write(frame(b))
		m := readFrame(t, c)
		if mm, _ := m.GetMTI(); mm != "0410" || iso.Get(m, 39) != "00" || iso.Get(m, 90) == "" {
			t.Fatalf("reversal %d: %s", i, iso.Summary(m))
		}
	}
	cn := h.Ledger().Counts()
	if cn.Reversed != 1 || cn.DuplicateReversals != 2 {
		t.Fatalf("ledger %+v", cn)
	}
}

func TestNetworkManagement(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii})
	c := rawConn(t, h)
	for code, rc := range map[string]string{"001": "00", "301": "00", "002": "00", "999": "12"} {
		m := ascii.NewMessage()
		m.MTI("0800")
		_ = iso.Set(m, 7, "1127101500")
		_ = iso.Set(m, 11, "000001")
		_ = iso.Set(m, 41, "TERM0001")
		_ = iso.Set(m, 70, code)
		b, _ := m.Pack()
		_, _ = c.Write(frame(b))
		r := readFrame(t, c)
		if mti, _ := r.GetMTI(); mti != "0810" || iso.Get(r, 39) != rc || iso.Get(r, 70) != code {
			t.Fatalf("0800 %s: %s", code, iso.Summary(r))
		}
	}
}

func TestIdleTimeoutClosesLink(t *testing.T) {
	h := startHost(t, Config{Dialect: ascii, IdleTimeout: 100 * time.Millisecond})
	c := rawConn(t, h)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := closed(c); err != nil {
		t.Fatalf("idle link: %v", err)
	}
	waitFor(t, func() bool {
		return lastEvent(h, EventLink, "no frame for 100ms (idle timeout)") != ""
	})
}
