package diagnose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/link"
)

// Candidates returns the framings and dialects possim can speak, the
// configured one first: every dialect × length header × with/without its
// TPDU. Each is a full dialect, so an attempt uses the same codec and
// framing code as the link.
func Candidates(configured *iso.Dialect) []*iso.Dialect {
	out := []*iso.Dialect{configured}
	seen := map[string]bool{FramingKey(configured): true}
	for _, name := range iso.Names() {
		for _, lh := range []string{"binary2", "bcd2", "ascii4"} {
			for _, tp := range []struct{ tpdu, header string }{{"", ""}, {"none", "none"}, {"6000030000", ""}} {
				d, err := iso.Build(name, iso.Options{LengthHeader: lh, TPDU: tp.tpdu, Header: tp.header})
				if err != nil {
					continue
				}
				if k := FramingKey(d); !seen[k] {
					seen[k] = true
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// FramingKey identifies a dialect with its framing.
func FramingKey(d *iso.Dialect) string {
	return fmt.Sprintf("%s|%s|%X|%X|%v", d.Name, d.Framing.Length, d.Framing.TPDU, d.Framing.Header, d.Framing.LengthCountsPrefix)
}

// DescribeDialect names a dialect with its framing: "iso87bin, binary2
// length, TPDU 6000030000, header 603100310000".
func DescribeDialect(d *iso.Dialect) string { return d.Name + ", " + d.Framing.Describe() }

// attempt is one framing tried: what came back and how long it took.
type attempt struct {
	d    *iso.Dialect
	ok   bool
	how  string // how it failed, or what answered
	took time.Duration
	// kind: "answered", "closed", "reset", "silent", "garbage", "connect"
	kind string
}

func (p *prober) echoMsg(d *iso.Dialect, code string) *iso8583.Message {
	m := d.NewMessage()
	m.MTI(d.MTI(iso.NetworkRequest))
	now := time.Now().UTC()
	for _, f := range []struct {
		id int
		v  string
	}{{7, now.Format("0102150405")}, {11, p.nextSTAN()}, {41, p.cfg.TID}} {
		_ = iso.Set(m, f.id, f.v)
	}
	_ = d.SetNetworkCode(m, code)
	return m
}

// recorder keeps the first bytes read, to say what an unreadable answer
// looked like.
type recorder struct {
	r    io.Reader
	seen bytes.Buffer
	n    int
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.n += n
	if room := 64 - r.seen.Len(); room > 0 {
		r.seen.Write(b[:min(n, room)])
	}
	return n, err
}

// try sends one echo test in d's framing on a new connection and reads
// one frame back.
func (p *prober) try(ctx context.Context, d *iso.Dialect) attempt {
	a := attempt{d: d}
	nc, _, err := p.dial(ctx)
	if err != nil {
		id, detail := ConnectCause(err)
		a.kind, a.how = "connect", fmt.Sprintf("could not connect (%s: %s)", id, detail)
		return a
	}
	defer nc.Close()
	req := p.echoMsg(d, "301")
	body, err := d.Pack(req)
	if err == nil {
		var frame []byte
		if frame, err = d.Framing.AppendFrame(nil, nil, body); err == nil {
			_ = nc.SetDeadline(time.Now().Add(p.cfg.Timeout))
			start := time.Now()
			_, err = nc.Write(frame)
			if err == nil {
				rec := &recorder{r: nc}
				fr := link.NewFrameReader(rec, d.Framing, 16<<10)
				payload, _, rerr := fr.Next()
				a.took = time.Since(start)
				p.readAnswer(&a, req, payload, rec, rerr)
				return a
			}
		}
	}
	a.kind, a.how = "connect", "could not send: "+err.Error()
	return a
}

func (p *prober) readAnswer(a *attempt, req *iso8583.Message, payload []byte, rec *recorder, err error) {
	after := " after " + fmtDur(a.took)
	if err != nil {
		var fe *link.FrameError
		switch {
		case errors.As(err, &fe) || (rec.n > 0 && errors.Is(err, io.EOF)):
			a.kind, a.how = "garbage", fmt.Sprintf("%d bytes came back that are not a frame in this framing (% X…): %v", rec.n, clip(rec.seen.Bytes(), 8), err)
		case errors.Is(err, io.EOF):
			a.kind, a.how = "closed", "the host closed the connection"+after+" without answering"
		case errors.Is(err, syscall.ECONNRESET):
			a.kind, a.how = "reset", "the host reset the connection"+after
		case errors.Is(err, os.ErrDeadlineExceeded):
			if rec.n > 0 {
				a.kind, a.how = "garbage", fmt.Sprintf("%d bytes came back (% X…) but no whole frame in this framing within %s", rec.n, clip(rec.seen.Bytes(), 8), p.cfg.Timeout)
			} else {
				a.kind, a.how = "silent", fmt.Sprintf("no answer and no close within %s", p.cfg.Timeout)
			}
		default:
			a.kind, a.how = "reset", err.Error()
		}
		return
	}
	_, body, err := a.d.Framing.Split(payload)
	if err != nil {
		a.kind, a.how = "garbage", err.Error()
		return
	}
	m, err := a.d.Unpack(body)
	if err != nil {
		a.kind, a.how = "garbage", fmt.Sprintf("a %d-byte frame came back that does not unpack in %s: %v", len(body), a.d.Name, err)
		return
	}
	mti, _ := m.GetMTI()
	// The answer must echo STAN and TID: a host of another edition or
	// dialect can read parts of the echo and answer fields that then land
	// elsewhere (a 1993 host read as 1987 shows a shifted TID).
	if !iso.IsResponse(mti) || iso.Get(m, 11) != iso.Get(req, 11) || strings.TrimRight(iso.Get(m, 41), " ") != strings.TrimRight(iso.Get(req, 41), " ") {
		a.kind, a.how = "garbage", fmt.Sprintf("answered %s, which does not echo the echo test's STAN and TID in this dialect", iso.Summary(m))
		return
	}
	a.ok, a.kind = true, "answered"
	rc := a.d.RC(m)
	a.how = fmt.Sprintf("answered %s RC %s (%s) in %s", mti, rc, iso.RCMeaning(rc), fmtDur(a.took))
}

// framing finds the framing and dialect the host answers: the configured
// one first, then the others, until one answers.
func (p *prober) framing(ctx context.Context) (*iso.Dialect, bool) {
	start := time.Now()
	cands := Candidates(p.cfg.Dialect)
	var tried []attempt
	var found *iso.Dialect
	for i, d := range cands {
		if ctx.Err() != nil {
			break
		}
		a := p.try(ctx, d)
		tried = append(tried, a)
		if a.ok && found == nil {
			found = d
			if i == 0 || !p.cfg.AllFramings {
				break
			}
		}
	}
	c := Check{Name: "framing", Took: time.Since(start)}
	for _, a := range tried {
		mark := "✗"
		if a.ok {
			mark = "✓"
		}
		c.Details = append(c.Details, fmt.Sprintf("%s %s: %s", mark, DescribeDialect(a.d), a.how))
	}
	if n := len(cands) - len(tried); n > 0 {
		c.Details = append(c.Details, fmt.Sprintf("  %d other framing(s) not tried", n))
	}
	switch {
	case found == cands[0]:
		c.Status, c.Summary = StatusOK, "the configured framing is answered: "+DescribeDialect(found)
	case found != nil:
		c.Status, c.Summary = StatusFail, "the host answers "+DescribeDialect(found)+", not the configured "+DescribeDialect(cands[0])
		c.Findings = append(c.Findings, framingDiff(cands[0], found, tried[0]))
	default:
		c.Status, c.Summary = StatusFail, fmt.Sprintf("no framing possim speaks got an answer (%d tried)", len(tried))
		c.Findings = append(c.Findings, noFraming(tried))
	}
	p.add(c)
	return found, found != nil
}

// framingDiff names what differs between the configured framing and the
// one the host answers, with the setting to change.
func framingDiff(conf, got *iso.Dialect, first attempt) Finding {
	var fixes []string
	id := FramingLost
	if conf.Framing.Length != got.Framing.Length {
		id = FramingLengthHeader
		fixes = append(fixes, fmt.Sprintf("the host expects a %s length header: set the terminal's length header to %s (possim: --length-header %s)",
			lengthWords(got.Framing.Length), got.Framing.Length, got.Framing.Length))
	}
	if conf.Name != got.Name {
		if id == FramingLost {
			id = FramingDialect // a dialect brings its own TPDU and header
		}
		fixes = append(fixes, fmt.Sprintf("the host speaks the %s dialect: set the terminal's dialect to %s (possim: --dialect %s)", got.Name, got.Name, got.Name))
	}
	// The TPDU and header to state: those that differ from what the
	// terminal will have once its dialect is the host's.
	base := conf
	if conf.Name != got.Name {
		base, _ = iso.Lookup(got.Name)
	}
	if base != nil && (!bytes.Equal(base.Framing.TPDU, got.Framing.TPDU) || !bytes.Equal(base.Framing.Header, got.Framing.Header)) {
		if id == FramingLost {
			id = FramingTPDU
		}
		want := "no TPDU"
		flag := "--tpdu none --header none"
		if len(got.Framing.TPDU) > 0 {
			want = fmt.Sprintf("TPDU %X", got.Framing.TPDU)
			flag = fmt.Sprintf("--tpdu %X", got.Framing.TPDU)
			if len(got.Framing.Header) > 0 {
				want += fmt.Sprintf(" and header %X", got.Framing.Header)
				flag += fmt.Sprintf(" --header %X", got.Framing.Header)
			} else {
				flag += " --header none"
			}
		}
		fixes = append(fixes, fmt.Sprintf("the host expects %s before the MTI (possim: %s)", want, flag))
	}
	return Finding{Cause: id,
		Detail: fmt.Sprintf("in the configured framing (%s) %s; in %s the host answers", DescribeDialect(conf), first.how, DescribeDialect(got)),
		Fix:    strings.Join(fixes, "; ")}
}

func lengthWords(h iso.LengthHeader) string {
	switch h {
	case iso.Binary2:
		return "2-byte binary"
	case iso.BCD2:
		return "2-byte BCD"
	}
	return "4-digit ASCII"
}

// noFraming names why nothing answered: a host that never says anything
// (hung, black hole) versus one that rejects every framing possim speaks.
func noFraming(tried []attempt) Finding {
	kinds := map[string]int{}
	for _, a := range tried {
		kinds[a.kind]++
	}
	if kinds["silent"] == len(tried) {
		return Finding{Cause: HostNotAnswering,
			Detail: fmt.Sprintf("the host accepted all %d connections and answered nothing, in no framing, and never closed one", len(tried))}
	}
	if kinds["connect"] > 0 {
		return Finding{Cause: LinkDown, Detail: fmt.Sprintf("%d of %d attempts could not even connect: the host went away during the probe", kinds["connect"], len(tried))}
	}
	return Finding{Cause: FramingLost,
		Detail: fmt.Sprintf("the host rejected every framing possim speaks (%d closed, %d reset, %d unreadable answers, %d silent)", kinds["closed"], kinds["reset"], kinds["garbage"], kinds["silent"]),
		Fix:    "get the host's interface specification (length header, TPDU/header, dialect); if it uses a dialect possim lacks, give possim its spec file"}
}

var _ = net.ErrClosed
