package terminal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/diagnose"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/outcome"
)

// What a POS checks before it believes an answer: a response is approved
// only with an approving RC, the request's PAN (2, when sent), processing
// code (3), amount (4), STAN (11), TID (41) and currency (49, when sent)
// echoed unchanged, and an approval code (38) on an approval of a card
// transaction. Anything else is a failed transaction with its cause named,
// and a reversible one is reversed: the host may have charged the card.

// action is what the engine does after a verdict.
type action uint8

const (
	actNone    action = iota
	actReverse        // send the reversal now (0400, repeats)
	actStore          // store the reversal for the next connection (link failed)
)

// verdict is the classification of one link result.
type verdict struct {
	class  outcome.Class
	cause  diagnose.ID
	detail string
	act    action
}

// echoed are the fields an answer must echo unchanged, in check order.
var echoed = [...]int{11, 41, 3, 4, 2, 49}

var echoNames = map[int]string{2: "card number", 3: "processing code", 4: "amount", 11: "STAN", 41: "terminal id", 49: "currency"}

func str(m *iso8583.Message, id int) string {
	s, _ := m.GetString(id)
	return s
}

// checkAnswer applies the POS checks to a matched response of the right
// type. It returns the verdict; approved and declined need no action.
func checkAnswer(sp *KindSpec, req, resp *iso8583.Message, rc string) verdict {
	bad := func(cause diagnose.ID, detail string) verdict {
		v := verdict{class: outcome.Failed, cause: cause, detail: detail}
		if sp.Reversible {
			v.act = actReverse
		}
		return v
	}
	if rc == "" {
		return bad(diagnose.ResponseMissingField, "the host's answer has no response code (field 39)")
	}
	if !iso.IsApproval(rc) {
		// A decline moves no money whatever it echoes: nothing to reverse.
		return verdict{class: outcome.Declined, cause: diagnose.ForRC(rc), detail: fmt.Sprintf("RC %s: %s", rc, iso.RCMeaning(rc))}
	}
	for _, id := range echoed {
		want := str(req, id)
		if want == "" {
			continue // not sent: nothing to echo
		}
		got := str(resp, id)
		if id == 41 {
			want, got = strings.TrimRight(want, " "), strings.TrimRight(got, " ")
		}
		if got == want {
			continue
		}
		if got == "" {
			if id == 2 || id == 49 {
				continue // many hosts do not echo PAN and currency; a changed one is what matters
			}
			return bad(diagnose.ResponseMissingField, fmt.Sprintf("the host's answer does not echo field %d (%s)", id, echoNames[id]))
		}
		return bad(diagnose.ResponseFieldMismatch, mismatch(id, rc, want, got))
	}
	{
		if sp.PC != "" && strings.TrimSpace(str(resp, 38)) == "" {
			return bad(diagnose.ResponseNoAuthCode, fmt.Sprintf("the host approved (RC %s) without an approval code (field 38)", rc))
		}
		return verdict{class: outcome.Approved}
	}
}

// mismatch words a changed echo: "the approval is for 99.99, the sale was
// 10.00".
func mismatch(id int, _, want, got string) string {
	answer := "the approval"
	switch id {
	case 4:
		return fmt.Sprintf("%s is for %s, the sale was %s", answer, amountText(got), amountText(want))
	case 2:
		return fmt.Sprintf("%s is for card %s, the card read was %s", answer, iso.MaskPAN(got), iso.MaskPAN(want))
	}
	return fmt.Sprintf("%s carries %s %q (field %d), the request had %q", answer, echoNames[id], got, id, want)
}

func amountText(s string) string {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return strconv.Quote(s)
	}
	return FormatAmount(n)
}

// judge classifies a link result for a request of kind sp: the one
// classifier of the terminal, the fleet and the scenarios.
func judge(d *iso.Dialect, sp *KindSpec, req *iso8583.Message, r link.Result, timeout time.Duration) verdict {
	if r.Err == nil {
		return checkAnswer(sp, req, r.Resp, d.RC(r.Resp))
	}
	var le *link.LinkError
	linkFailed := errors.As(r.Err, &le)
	if !linkFailed && (errors.Is(r.Err, link.ErrQueueFull) || errors.Is(r.Err, link.ErrDuplicateKey) || r.Resp == nil && !errors.Is(r.Err, link.ErrTimeout)) {
		cause := diagnose.TerminalQueueFull
		return verdict{class: outcome.NotSent, cause: cause, detail: r.Err.Error()}
	}
	v := verdict{detail: explain(r, timeout)}
	switch {
	case linkFailed:
		v.cause = diagnose.LinkCause(le.Kind, le.Error())
	case errors.Is(r.Err, link.ErrTimeout):
		v.cause = diagnose.ResponseTimeout
	case untrusted(r.Err):
		v.cause, v.detail = diagnose.MACResponseInvalid, macWhy(r.Err)
	case errors.Is(r.Err, link.ErrWrongMTI):
		v.cause = diagnose.ResponseWrongMTI
	default:
		v.cause = diagnose.FramingUnreadable
	}
	switch {
	case !sp.Reversible:
		v.class = outcome.TimedOutNoReversal
		if linkFailed {
			v.class = outcome.LinkFailed
		}
	case linkFailed:
		// The host may or may not have the request: reverse it once a link
		// is back (store-and-forward).
		v.class, v.act = outcome.LinkFailed, actStore
	default:
		// Timeout, or an answer that cannot be trusted (bad MAC, wrong MTI,
		// unreadable): the terminal reverses; the class is set when the
		// reversal's story ends.
		v.class, v.act = outcome.TimedOutReversed, actReverse
	}
	return v
}
