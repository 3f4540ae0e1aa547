package terminal

import (
	"errors"
	"fmt"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// MACs and working keys on the terminal.
//
// With Config.Security set the terminal holds a terminal master key (TMK).
// The answer to its sign-on carries working keys encrypted under the TMK in
// field 62 (layout: internal/mac keys.go): the terminal decrypts them,
// checks their check values — a mismatch fails the sign-on with "KCV
// mismatch on the MAC key: got X, computed Y" — and from then on signs its
// 01xx/02xx/04xx requests and verifies the host's answers. An answer whose
// MAC fails is not trusted: a financial transaction is reversed, and the
// outcome says which MAC symptom was seen. A host-initiated key change
// (0800, 70 = 101, keys in field 62) is checked the same way, installed and
// answered 00 (63 on a KCV mismatch, 30 on an unreadable field 62). Keys
// live only in memory; only check values are ever shown.

// Security turns on MACs and working keys: the settings the host shares
// (TMK, algorithm, padding, MACNetwork, Field), nothing of the terminal's
// own.
type Security = mac.Settings

// termKeys is the terminal's key state. Terminal embeds a *termKeys (nil
// when MACs are off): its exported method Keys is the terminal's, and every
// method works on a nil receiver.
type termKeys struct {
	t    *Terminal
	kek  *mac.KEK
	alg  mac.Algorithm
	pad  mac.Padding
	slot mac.KeySlot
}

// newTermKeys checks s and puts the MAC layer under the link codec (it
// wraps t.cfg.Codec). New calls it once the terminal exists; nil s: MACs
// off.
func newTermKeys(t *Terminal, s *Security) (*termKeys, error) {
	if s == nil {
		return nil, nil
	}
	kek, alg, pad, err := s.Open("terminal")
	if err != nil {
		return nil, err
	}
	k := &termKeys{t: t, kek: kek, alg: alg, pad: pad}
	opts := s.CodecOptions()
	if rs := t.cfg.Faults; rs != nil {
		opts.Fault = k.faultHook(rs)
	}
	d := t.cfg.Dialect
	if _, err := mac.NewCodec(link.DialectCodec{D: d}, d, &k.slot, opts); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	user := t.cfg.Codec
	t.cfg.Codec = func(inner link.Codec) link.Codec {
		if user != nil {
			inner = user(inner)
		}
		c, _ := mac.NewCodec(inner, d, &k.slot, opts) // options checked above
		return c
	}
	return k, nil
}

// Keys describes the terminal's current working keys by check values;
// false before the first sign-on (or with MACs off).
func (k *termKeys) Keys() (mac.KeyInfo, bool) {
	if k == nil {
		return mac.KeyInfo{}, false
	}
	w := k.slot.Keys("")
	if w == nil {
		return mac.KeyInfo{}, false
	}
	return w.Info(), true
}

// open reads, decrypts and checks the key block of m.
func (k *termKeys) open(m *iso8583.Message, via string) (*mac.WorkingKeys, error) {
	v := iso.Get(m, mac.KeyBlockField)
	if v == "" {
		return nil, fmt.Errorf("no working keys: field %d is missing", mac.KeyBlockField)
	}
	blk, err := mac.ParseKeyBlock(v)
	if err != nil {
		return nil, fmt.Errorf("field %d: %w", mac.KeyBlockField, err)
	}
	w, err := mac.OpenKeys(k.kek, k.alg, k.pad, blk)
	if err != nil {
		return nil, err
	}
	w.Via, w.Confirmed = via, true
	return w, nil
}

// installKeys takes the working keys of an approved sign-on answer. An
// error (no field 62, KCV mismatch) means the sign-on failed: the keys in
// force, if any, stay.
func (k *termKeys) installKeys(resp *iso8583.Message) error {
	if k == nil {
		return nil
	}
	w, err := k.open(resp, "sign-on")
	if err != nil {
		k.t.cfg.Logger.Warn("sign-on keys refused", "tid", k.t.cfg.TID, "why", err.Error())
		return fmt.Errorf("sign-on answer refused: %w", err)
	}
	w = k.slot.Install(w)
	k.t.cfg.Logger.Info("working keys installed", "tid", k.t.cfg.TID, "via", "sign-on", "mac_kcv", w.MACKCV, "pin_kcv", w.PINKCV, "gen", w.Gen)
	return nil
}

// keyChange takes the new keys of a host-initiated key change (0800, 70 =
// 101) and returns the response code for the 0810: 00 installed, 63 KCV
// mismatch, 30 no readable key block. With MACs off it answers 00.
func (k *termKeys) keyChange(m *iso8583.Message) string {
	if k == nil {
		return "00"
	}
	w, err := k.open(m, "key change (host 0800, 70=101)")
	if err != nil {
		k.t.cfg.Logger.Warn("key change refused", "tid", k.t.cfg.TID, "why", err.Error())
		var ke *mac.KCVError
		if errors.As(err, &ke) {
			return "63"
		}
		return "30"
	}
	w = k.slot.Install(w)
	k.t.cfg.Logger.Info("working keys installed", "tid", k.t.cfg.TID, "via", "key change", "mac_kcv", w.MACKCV, "pin_kcv", w.PINKCV, "gen", w.Gen)
	return "00"
}

// faultHook asks the terminal's fault rules how to sign each request (the
// MAC faults) and reports each firing to the observer as a fault event.
func (k *termKeys) faultHook(rs *fault.RuleSet) func(*iso8583.Message, *mac.WorkingKeys) mac.Tamper {
	return func(m *iso8583.Message, w *mac.WorkingKeys) mac.Tamper {
		a := rs.MACFaults(m, fault.Terminal, w.Prev != nil)
		if len(a.Fired) == 0 {
			return mac.Tamper{}
		}
		detail := ""
		for i, f := range a.Fired {
			if i > 0 {
				detail += ", "
			}
			detail += f
		}
		k.t.observe(link.Event{Kind: link.EvFault, Time: time.Now(), Msg: m, Detail: detail})
		return mac.Tamper{Sign: a.Sign, Seed: a.Seed}
	}
}

// macWhy says why an answer whose MAC failed is not trusted, "" when err
// is not a MAC failure.
func macWhy(err error) string {
	if ve, ok := mac.AsVerifyError(err); ok {
		return "MAC verification failed on the response: " + ve.Reason()
	}
	return ""
}

// untrusted reports whether err says the answer's MAC failed.
func untrusted(err error) bool {
	_, ok := mac.AsVerifyError(err)
	return ok
}
