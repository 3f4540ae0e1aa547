package terminal_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/internal/outcome"
	"github.com/possim/possim/internal/testkit/hostkit"
	"github.com/possim/possim/terminal"
)

const cardTMK = "0123456789ABCDEFFEDCBA9876543210"

// sentLog keeps the requests the terminal sent, to look at the wire fields.
type sentLog struct {
	mu   sync.Mutex
	msgs []*iso8583.Message
}

func (s *sentLog) observe(e link.Event) {
	if e.Kind == link.EvSent && e.Msg != nil {
		s.mu.Lock()
		s.msgs = append(s.msgs, e.Msg)
		s.mu.Unlock()
	}
}

func (s *sentLog) last() *iso8583.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs[len(s.msgs)-1]
}

func keyedHost(t *testing.T, d *iso.Dialect) *host.Host {
	t.Helper()
	tmk, _ := mac.ParseHexKey(cardTMK)
	return hostkit.Start(t, host.Config{Dialect: d, Security: &host.Security{TMK: tmk}})
}

// Swipe, chip, fallback and PIN transactions carry what their read mode
// puts on the wire and are approved or declined as the host's test cards
// say — in ISO 8583:1987 and 1993.
func TestCardReadModesAgainstOurHost(t *testing.T) {
	for _, name := range []string{"iso87ascii", "iso93ascii"} {
		t.Run(name, func(t *testing.T) {
			d, _ := iso.Lookup(name)
			h := keyedHost(t, d)
			tmk, _ := mac.ParseHexKey(cardTMK)
			var log sentLog
			term := newTerm(t, h.Addr().String(), func(c *terminal.Config) {
				c.Dialect, c.Observer, c.Security = d, log.observe, &terminal.Security{TMK: tmk}
			})
			if err := term.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				card       string
				pin        string
				class      outcome.Class
				mode       string
				has, hasNo []int
			}{
				{"swipe", "", outcome.Approved, "902", []int{35}, []int{2, 14, 55, 52}},
				{"chip", "", outcome.Approved, "052", []int{2, 55}, []int{35, 52}},
				{"fallback", "", outcome.Approved, "802", []int{35}, []int{2, 55}},
				{"pin", "", outcome.Approved, "051", []int{2, 52, 55}, nil},
				{"pin", "4321", outcome.Declined, "051", []int{52}, nil},
			} {
				c := terminal.TestCards[tc.card]
				if tc.pin != "" {
					c.PIN = tc.pin
				}
				o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 1000, Card: c})
				if o.Class != tc.class {
					t.Fatalf("%s card: %s (events %q)", tc.card, o, h.Events())
				}
				m := log.last()
				for _, mti := range []string{d.MTI(iso.FinancialRequest)} {
					if got, _ := m.GetMTI(); got != mti && !strings.HasPrefix(got, mti[:1]) {
						t.Fatalf("MTI %s", got)
					}
				}
				if got := d.EntryMode(m); got != tc.mode {
					t.Errorf("%s card: entry mode %q, want %q", tc.card, got, tc.mode)
				}
				for _, id := range tc.has {
					if !iso.Has(m, id) {
						t.Errorf("%s card: no field %d", tc.card, id)
					}
				}
				for _, id := range tc.hasNo {
					if iso.Has(m, id) {
						t.Errorf("%s card: field %d should not be sent", tc.card, id)
					}
				}
				if tc.pin != "" && o.RC != "55" {
					t.Errorf("wrong PIN: RC %s", o.RC)
				}
			}
		})
	}
}

func TestFieldOverridesAndCurrency(t *testing.T) {
	h := startHost(t, "")
	var log sentLog
	term := newTerm(t, h.Addr().String(), func(c *terminal.Config) {
		c.Observer, c.Currency, c.EntryMode, c.POSCondition = log.observe, "840", "012", "08"
		c.Fields = []terminal.FieldValue{{Field: 48, Value: "LOYALTY42"}, {Field: 14, Value: ""}}
	})
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := term.Do(terminal.Tx{Kind: terminal.Balance, Fields: []terminal.FieldValue{{Field: 62, Value: "PRIV"}}})
	if o.Class != outcome.Approved {
		t.Fatal(o)
	}
	m := log.last()
	for id, want := range map[int]string{49: "840", 22: "012", 25: "08", 48: "LOYALTY42", 62: "PRIV", 14: ""} {
		if got := iso.Get(m, id); got != want {
			t.Errorf("field %d %q, want %q", id, got, want)
		}
	}
	if o.Resp == nil || iso.Get(o.Resp, 54) == "" {
		t.Fatal("balance answer without field 54")
	}
	for _, bad := range []string{"1=x", "11=000001", "x=1", "48"} {
		if _, err := terminal.ParseField(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The first host is down: the terminal switches over to the alternate and
// says so.
func TestFailoverToAlternateHost(t *testing.T) {
	h := startHost(t, "")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	term := newTerm(t, down+","+h.Addr().String(), nil)
	if err := term.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sw := term.SwitchOver(); !strings.Contains(sw, "switched over to "+h.Addr().String()) || !strings.Contains(sw, down) {
		t.Fatalf("switch-over %q", sw)
	}
	if o := term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: 100}); o.Class != outcome.Approved {
		t.Fatal(o)
	}
}
