package host

import (
	"context"
	"testing"
	"time"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
	"github.com/possim/possim/terminal"
)

// verdicts counts the answer shapes h has judged.
func (h *Host) verdicts() (same, differ int) {
	h.shapes.mu.RLock()
	defer h.shapes.mu.RUnlock()
	for _, v := range h.shapes.m {
		switch v {
		case shapeSame:
			same++
		case shapeDiffers:
			differ++
		}
	}
	return same, differ
}

// Every transaction type in every dialect, over TCP, against a host whose
// answers are packed from the request's bytes and against one that builds
// them with moov (an observer forces that): the terminal sees the same
// outcome, and every answer shape packs exactly as moov packs it (the
// host checks each shape's bytes against moov's Pack).
func TestFastAnswersPackAsMoov(t *testing.T) {
	rules, err := ParseRules("fast.yaml", []byte(`
rules:
  - name: extra fields
    match: {amount: "4242..4242"}
    respond: {rc: "00", set: {44: "HELLO", 62: "PRIVATE", 102: "ACCOUNT-9"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rules = rules.Then(DefaultRules())
	tmk, err := mac.ParseHexKey("0123456789ABCDEFFEDCBA9876543210")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range iso.Names() {
		for _, withMAC := range []bool{false, true} {
			sub := name
			if withMAC {
				sub += "/mac"
			}
			t.Run(sub, func(t *testing.T) { fastAnswersCase(t, name, rules, withMAC, tmk) })
		}
	}
}

func fastAnswersCase(t *testing.T, name string, rules *RuleSet, withMAC bool, tmk []byte) {
	{
		{
			d, _ := iso.Lookup(name)
			var sec *Security
			var tsec *terminal.Security
			if withMAC {
				sec = &Security{TMK: tmk, Alg: mac.Alg3, Pad: mac.Pad1}
				tsec = &terminal.Security{TMK: tmk, Alg: mac.Alg3, Pad: mac.Pad1}
			}
			fast := startHost(t, Config{Dialect: d, Rules: rules, Security: sec})
			slow := startHost(t, Config{Dialect: d, Rules: rules, Security: sec, Observer: func(*link.Link, link.Event) {}})
			if !fast.fastAnswers || slow.fastAnswers {
				t.Fatalf("fast answers: %v / %v", fast.fastAnswers, slow.fastAnswers)
			}
			run := func(h *Host) []terminal.Outcome {
				term, err := terminal.New(terminal.Config{Target: h.Addr().String(), Dialect: d, TID: "FAST0001",
					Timeout: 2 * time.Second, SignOnAtConnect: true, ConnectAttempts: 1, Security: tsec})
				if err != nil {
					t.Fatal(err)
				}
				defer term.Close()
				if err := term.Connect(context.Background()); err != nil {
					t.Fatal(err)
				}
				var out []terminal.Outcome
				for _, amount := range []int64{1234, 4242} {
					for _, k := range terminal.Kinds {
						if k == terminal.Reversal {
							continue // needs an original: the timeouts of other tests
						}
						out = append(out, term.Do(terminal.Tx{Kind: k, Amount: amount}))
					}
					out = append(out, term.Do(terminal.Tx{Kind: terminal.Purchase, Amount: amount, Card: terminal.Card{PAN: "4000000000000002", Expiry: "2812"}}))
				}
				return out
			}
			fo, so := run(fast), run(slow)
			for i := range fo {
				if fo[i].Class != so[i].Class || fo[i].RC != so[i].RC {
					t.Errorf("%s: fast %s, moov %s", fo[i].Kind, fo[i], so[i])
				}
			}
			for _, o := range fo {
				if o.Cause.Cause != "" && o.Class != terminal.Declined {
					t.Errorf("%s: %s", o.Kind, o)
				}
			}
			same, differ := fast.verdicts()
			t.Logf("%d answer shapes packed from the request, checked against moov", same)
			if fast.fastSent.Load() == 0 || slow.fastSent.Load() != 0 {
				t.Fatalf("answers packed from the request: %d by the fast host, %d by the other", fast.fastSent.Load(), slow.fastSent.Load())
			}
			if same == 0 || differ != 0 {
				t.Fatalf("answer shapes: %d pack as moov, %d differ", same, differ)
			}
		}
	}
}
