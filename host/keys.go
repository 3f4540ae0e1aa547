package host

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
	"github.com/possim/possim/internal/mac"
)

// MACs and working keys on the host.
//
// With Config.Security set, the host shares one terminal master key (TMK)
// with its terminals. At every approved sign-on (0800, 70 = 001) it makes a
// fresh MAC key and PIN key for the terminal (field 41), keeps them in
// memory and sends them encrypted under the TMK with their check values in
// field 62 of the 0810 (layout: internal/mac keys.go). From then on it
// verifies the MAC of every 01xx/02xx/04xx request from that terminal
// (08xx too with MACNetwork) and signs its answers. A request whose MAC
// fails is answered with FailRC (default 63, security violation) and the
// reason — the named symptom — goes to the host's events. RotateKeys (or
// SendNetwork("101")) changes a terminal's keys on a live link with a
// host-initiated 0800 key change. Keys are never printed: only check
// values.

// Security turns on MACs and working-key exchange. TMK, Alg, Pad,
// MACNetwork and Field mean what they mean in mac.Settings (see MAC); the
// rest is the host's own.
type Security struct {
	TMK        []byte
	Alg        mac.Algorithm
	Pad        mac.Padding
	MACNetwork bool
	Field      int
	// FailRC answers a request whose MAC fails; default "63" (security
	// violation).
	FailRC string
	// KeyChangeTimeout bounds the wait for the 0810 to a key change;
	// default 10 s.
	KeyChangeTimeout time.Duration
	// Rand is the source of working keys; default crypto/rand.
	Rand io.Reader
}

// String describes the settings by check value; never the key.
func (s *Security) String() string {
	if s == nil {
		return "MACs off"
	}
	m := s.MAC()
	net := "01xx/02xx/04xx"
	if s.MACNetwork {
		net += "/08xx"
	}
	return fmt.Sprintf("MACs on: %s over %s, TMK KCV %s, working keys issued at sign-on, MAC failures answered RC %s", m.Scheme(), net, m.TMKKCV(), s.failRC())
}

// MAC is the part of the settings the terminal shares (mac.Settings, which
// is terminal.Security). The fields stay flat here, not embedded, so that
// host.Security{TMK: …} literals keep working.
func (s *Security) MAC() *mac.Settings {
	return &mac.Settings{TMK: s.TMK, Alg: s.Alg, Pad: s.Pad, MACNetwork: s.MACNetwork, Field: s.Field}
}

func (s *Security) failRC() string {
	if s.FailRC == "" {
		return "63"
	}
	return s.FailRC
}

// hostKeys is the host's key state. Host embeds a *hostKeys (nil when MACs
// are off): its exported methods — RotateKeys, Keys, MACFailures — are the
// host's, and every method works on a nil receiver.
type hostKeys struct {
	h       *Host
	kek     *mac.KEK
	alg     mac.Algorithm
	pad     mac.Padding
	rc      string
	timeout time.Duration
	ring    mac.Keyring
	// termLinks maps a TID to the link it signed on over (*link.Link).
	termLinks sync.Map

	randMu sync.Mutex // a caller's io.Reader need not be safe for concurrent use
	rand   io.Reader

	failures atomic.Uint64
}

// newHostKeys checks s and puts the MAC layer under every link's codec (it
// wraps h.cfg.Codec). New calls it once the host exists; nil s: MACs off.
func newHostKeys(h *Host, s *Security) (*hostKeys, error) {
	if s == nil {
		return nil, nil
	}
	m := s.MAC()
	kek, alg, pad, err := m.Open("host")
	if err != nil {
		return nil, err
	}
	rc := s.failRC()
	if len(rc) != 2 {
		return nil, fmt.Errorf("host: MAC failure response code %q: want 2 characters, e.g. 63", rc)
	}
	k := &hostKeys{h: h, kek: kek, alg: alg, pad: pad, rc: rc, timeout: s.KeyChangeTimeout, rand: s.Rand}
	if k.timeout <= 0 {
		k.timeout = 10 * time.Second
	}
	opts := m.CodecOptions()
	opts.Unsigned = true
	if rs := k.h.cfg.Faults; rs != nil {
		opts.Fault = k.faultHook(rs)
	}
	d := k.h.cfg.Dialect
	if _, err := mac.NewCodec(link.DialectCodec{D: d}, d, &k.ring, opts); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	user := k.h.cfg.Codec
	k.h.cfg.Codec = func(inner link.Codec) link.Codec {
		if user != nil {
			inner = user(inner)
		}
		c, _ := mac.NewCodec(inner, d, &k.ring, opts) // options checked above
		return c
	}
	return k, nil
}

// issue makes new working keys and their key block.
func (k *hostKeys) issue(via string) (*mac.WorkingKeys, mac.KeyBlock, error) {
	k.randMu.Lock()
	w, blk, err := mac.IssueKeys(k.kek, k.alg, k.pad, k.rand)
	k.randMu.Unlock()
	if err != nil {
		return nil, mac.KeyBlock{}, err
	}
	w.Via = via
	return w, blk, nil
}

func tidOf(m *iso8583.Message) string { return strings.TrimRight(iso.Get(m, 41), " ") }

// networkKeys gives a terminal that signs on (0800, 70 = 001, answered 00)
// fresh working keys: they go into field 62 of resp and become the keys
// the host checks its MACs with. Handle calls it for every 08xx answer.
func (k *hostKeys) networkKeys(l *link.Link, in *link.Inbound, resp *iso8583.Message) error {
	if k == nil {
		return nil
	}
	if d := k.h.cfg.Dialect; d.NetworkCode(in.Msg) != "001" || d.RC(resp) != "00" {
		return nil
	}
	tid := tidOf(in.Msg)
	if tid == "" {
		k.h.events.add(EventKeys, "sign-on without a TID (field 41): no working keys issued")
		return nil
	}
	w, blk, err := k.issue("sign-on")
	if err != nil {
		return err
	}
	if err := iso.Set(resp, mac.KeyBlockField, blk.Field()); err != nil {
		return err
	}
	w = k.ring.Install(tid, w)
	k.termLinks.Store(tid, l)
	k.h.events.add(EventKeys, fmt.Sprintf("working keys issued to TID %s at sign-on: %s", tid, w))
	k.h.cfg.Logger.Info("working keys issued", "tid", tid, "mac_kcv", w.MACKCV, "pin_kcv", w.PINKCV, "gen", w.Gen)
	return nil
}

// macFailure answers a request whose MAC did not verify with the
// configured response code and records why. It reports false when in.Err
// is not a MAC failure (the caller answers a format error).
func (k *hostKeys) macFailure(l *link.Link, in *link.Inbound) bool {
	ve, ok := mac.AsVerifyError(in.Err)
	if !ok || k == nil {
		return false
	}
	k.failures.Add(1)
	rc := k.rc
	echo := echoFinancial
	switch iso.Class(in.MTI) {
	case '4':
		echo = echoReversal
	case '8':
		echo = echoNetwork
	}
	tid := tidOf(in.Msg)
	why := fmt.Sprintf("MAC failure from TID %s: %s (%s) STAN %s: %s; answered RC %s (%s)",
		tid, in.MTI, iso.MTIName(in.MTI), iso.Get(in.Msg, 11), ve.Reason(), rc, iso.RCMeaning(rc))
	k.h.events.add(EventMAC, why)
	k.h.cfg.Logger.Warn("MAC failure", "tid", tid, "mti", in.MTI, "stan", iso.Get(in.Msg, 11), "symptom", ve.Kind.String(), "why", ve.Reason())
	resp, err := k.h.respond(in, rc, echo)
	if err != nil {
		k.h.drop(fmt.Sprintf("cannot build the RC %s answer: %v", rc, err))
		return true
	}
	if c := iso.Class(in.MTI); c == '1' || c == '2' {
		k.h.ledger.Record(Tx{
			TID: tid, STAN: iso.Get(in.Msg, 11), RRN: iso.Get(in.Msg, 37), MTI: in.MTI,
			ProcCode: iso.Get(in.Msg, 3), Amount: iso.Get(in.Msg, 4), RC: rc,
			PANMasked: iso.MaskPAN(iso.Get(in.Msg, 2)), At: in.Received, State: Declined,
		})
	}
	k.h.reply(l, in, resp, 0)
	return true
}

// MACFailures is how many requests failed their MAC check.
func (k *hostKeys) MACFailures() uint64 {
	if k == nil {
		return 0
	}
	return k.failures.Load()
}

// Keys describes terminal tid's current working keys by check values.
func (k *hostKeys) Keys(tid string) (mac.KeyInfo, bool) {
	if k == nil {
		return mac.KeyInfo{}, false
	}
	w := k.ring.Keys(tid)
	if w == nil {
		return mac.KeyInfo{}, false
	}
	return w.Info(), true
}

// ErrNoTerminalLink: RotateKeys with notify for a terminal that is not
// connected.
var ErrNoTerminalLink = errors.New("no link to the terminal")

// RotateKeys gives terminal tid new working keys. With notify, the host
// sends them in a host-initiated 0800 key change (70 = 101, keys in field
// 62) on the link the terminal signed on over, starts checking MACs with
// them at once, and waits for the 0810: 00 confirms the change; any other
// code means the terminal refused the keys and the host goes back to the
// previous ones; no answer leaves the host on the new keys — the terminal
// may not have them (key desync). Without notify the host changes the keys
// silently: the terminal gets them at its next sign-on, and until then its
// MACs fail. It returns the keys in force afterwards.
//
// RotateKeys blocks for the 0810: do not call it from a link handler.
func (k *hostKeys) RotateKeys(tid string, notify bool) (mac.KeyInfo, error) {
	if k == nil {
		return mac.KeyInfo{}, errors.New("host: MACs are off (no Security in the config)")
	}
	if !notify {
		w, err := k.rotateSilently(tid, "silent key change")
		if err != nil {
			return mac.KeyInfo{}, err
		}
		return w.Info(), nil
	}
	ch := make(chan error, 1)
	if err := k.startKeyChange(tid, k.timeout, func(err error) { ch <- err }); err != nil {
		return mac.KeyInfo{}, err
	}
	err := <-ch
	info, _ := k.Keys(tid)
	return info, err
}

// rotateSilently gives tid new keys without telling the terminal.
func (k *hostKeys) rotateSilently(tid, via string) (*mac.WorkingKeys, error) {
	old := k.ring.Keys(tid)
	if old == nil {
		return nil, fmt.Errorf("host: TID %s has no working keys (it has not signed on)", tid)
	}
	w, _, err := k.issue(via)
	if err != nil {
		return nil, err
	}
	w = k.ring.Install(tid, w)
	k.h.events.add(EventKeys, fmt.Sprintf("working keys of TID %s changed without telling the terminal (%s): MAC key KCV %s → %s",
		tid, via, old.MACKCV, w.MACKCV))
	k.h.cfg.Logger.Warn("working keys changed silently", "tid", tid, "via", via, "old_mac_kcv", old.MACKCV, "mac_kcv", w.MACKCV)
	return w, nil
}

// startKeyChange sends a key change to tid and calls done with its
// outcome (nil: confirmed).
func (k *hostKeys) startKeyChange(tid string, timeout time.Duration, done func(error)) error {
	v, ok := k.termLinks.Load(tid)
	l, _ := v.(*link.Link)
	if !ok || l == nil || l.Err() != nil {
		return fmt.Errorf("host: key change for TID %s: %w (the new keys will go with its next sign-on)", tid, ErrNoTerminalLink)
	}
	w, blk, err := k.issue("key change (host 0800, 70=101)")
	if err != nil {
		return err
	}
	d := k.h.cfg.Dialect
	m := d.NewMessage()
	m.MTI(d.MTI(iso.NetworkRequest))
	for _, f := range []struct {
		id int
		v  string
	}{{7, time.Now().UTC().Format("0102150405")}, {11, fmt.Sprintf("%06d", k.h.authSeq.Add(1)%1000000)},
		{41, tid}, {mac.KeyBlockField, blk.Field()}} {
		if err := iso.Set(m, f.id, f.v); err != nil {
			return err
		}
	}
	if err := d.SetNetworkCode(m, "101"); err != nil {
		return err
	}
	prev := k.ring.Keys(tid)
	w = k.ring.Install(tid, w)
	gen := w.Gen
	k.h.events.add(EventKeys, fmt.Sprintf("key change sent to TID %s: %s", tid, w))
	l.Send(m, timeout, func(r link.Result) {
		rc := d.RC(r.Resp)
		switch {
		case r.Err == nil && rc == "00":
			k.ring.Confirm(tid, gen)
			k.h.events.add(EventKeys, fmt.Sprintf("TID %s confirmed the key change: MAC key KCV %s", tid, w.MACKCV))
			done(nil)
		case r.Err == nil:
			back := ""
			if k.ring.Revert(tid, gen, "restored after the terminal refused a key change") && prev != nil {
				back = fmt.Sprintf("; the host went back to MAC key KCV %s", prev.MACKCV)
			}
			err := fmt.Errorf("TID %s refused the key change to MAC key KCV %s: RC %s (%s)%s", tid, w.MACKCV, rc, iso.RCMeaning(rc), back)
			k.h.events.add(EventKeys, err.Error())
			done(err)
		default:
			err := fmt.Errorf("key change to TID %s not confirmed (%v): the host keeps MAC key KCV %s, which the terminal may not have (key desync)",
				tid, r.Err, w.MACKCV)
			k.h.events.add(EventKeys, err.Error())
			done(err)
		}
	})
	return nil
}

// sendKeyChanges sends a key change to every terminal that signed on over a
// link still up and returns how many were sent (SendNetwork("101")).
func (k *hostKeys) sendKeyChanges(timeout time.Duration) int {
	if k == nil {
		return 0
	}
	n := 0
	k.termLinks.Range(func(key, v any) bool {
		tid := key.(string)
		if l := v.(*link.Link); l.Err() != nil {
			return true
		}
		if err := k.startKeyChange(tid, timeout, func(error) {}); err != nil {
			k.h.events.add(EventKeys, err.Error())
			return true
		}
		n++
		return true
	})
	return n
}

// faultHook asks the host's fault rules how to sign each message (the MAC
// and key faults) and carries out key-desync.
func (k *hostKeys) faultHook(rs *fault.RuleSet) func(*iso8583.Message, *mac.WorkingKeys) mac.Tamper {
	return func(m *iso8583.Message, w *mac.WorkingKeys) mac.Tamper {
		a := rs.MACFaults(m, fault.Host, w.Prev != nil)
		if len(a.Fired) == 0 {
			return mac.Tamper{}
		}
		mti, _ := m.GetMTI()
		tid := tidOf(m)
		labels := strings.Join(a.Fired, ", ")
		k.h.events.add(EventFault, fmt.Sprintf("fault %s on %s STAN %s to TID %s", labels, mti, iso.Get(m, 11), tid))
		t := mac.Tamper{Sign: a.Sign, Seed: a.Seed}
		if a.Desync {
			t.After = func() {
				if _, err := k.rotateSilently(tid, "fault "+labels); err != nil {
					k.h.events.add(EventKeys, err.Error())
				}
			}
		}
		return t
	}
}
