package iso

import (
	"bytes"
	"strings"
	"testing"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/network"
	"github.com/moov-io/iso8583/prefix"
)

func sample(t testing.TB, d *Dialect) []byte {
	t.Helper()
	m := d.NewMessage()
	m.MTI("0200")
	set := map[int]string{2: "4111111111111111", 3: "000000", 4: "1234", 7: "1127101500", 11: "000123",
		12: "101500", 13: "1127", 22: "051", 25: "00", 35: "4111111111111111=2812101", 37: "123456789012",
		41: "TERM0001", 42: "MERCHANT0000001", 49: "978", 90: "0200000123112710150000000000000000000000000"[:42]}
	for id, v := range set {
		if err := Set(m, id, v); err != nil {
			t.Fatalf("field %d: %v", id, err)
		}
	}
	if err := m.BinaryField(128, []byte{1, 2, 3, 4, 5, 6, 7, 8}); err != nil {
		t.Fatal(err)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	return b
}

func TestASCIIStandardBitmaps(t *testing.T) {
	d, _ := Lookup("iso87ascii")
	b := sample(t, d)
	if string(b[:4]) != "0200" {
		t.Fatalf("MTI %q", b[:4])
	}
	// primary bitmap: 16 hex chars with bit 1 set (secondary present).
	prim := string(b[4:20])
	if prim[0] < '8' {
		t.Fatalf("primary bitmap %s does not announce the secondary", prim)
	}
	sec := string(b[20:36])
	if strings.ToUpper(sec) != sec || len(strings.Trim(sec, "0123456789ABCDEF")) != 0 {
		t.Fatalf("secondary bitmap %q not hex", sec)
	}
	if !strings.HasSuffix(string(b), "0102030405060708") {
		t.Fatalf("MAC not carried as 16 hex chars: %q", b[len(b)-20:])
	}
	m, err := d.Unpack(b)
	if err != nil {
		t.Fatal(err)
	}
	if Get(m, 90)[:4] != "0200" || Get(m, 41) != "TERM0001" || Get(m, 4) != "000000001234" {
		t.Fatalf("round trip: %s", Summary(m))
	}
	mac, _ := m.GetBytes(128)
	if !bytes.Equal(mac, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("MAC %x", mac)
	}
}

func TestPrimaryOnlyHasBit1Clear(t *testing.T) {
	d, _ := Lookup("iso87ascii")
	m := d.NewMessage()
	m.MTI("0800")
	_ = Set(m, 11, "1")
	_ = Set(m, 41, "T1")
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4+16+6+8 || b[4] >= '8' {
		t.Fatalf("unexpected %q", b)
	}
}

func TestBinaryDialectRoundTrip(t *testing.T) {
	d, _ := Lookup("iso87bin")
	b := sample(t, d)
	if !bytes.Equal(b[:2], []byte{0x02, 0x00}) {
		t.Fatalf("MTI not BCD: % X", b[:2])
	}
	if b[2]&0x80 == 0 {
		t.Fatal("binary primary bitmap does not announce the secondary")
	}
	m, err := d.Unpack(b)
	if err != nil {
		t.Fatal(err)
	}
	if Get(m, 11) != "000123" || Get(m, 2) != "4111111111111111" || Get(m, 35) != "4111111111111111=2812101" {
		t.Fatalf("round trip: %s / %q", Summary(m), Get(m, 35))
	}
	frame, err := d.Framing.AppendFrame(nil, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := d.Framing.Length.Get(frame)
	if n != len(b)+11 || frame[2] != 0x60 {
		t.Fatalf("length %d for %d bytes of message; frame % X", n, len(b), frame[:13])
	}
	p, msg, err := d.Framing.Split(frame[2:])
	if err != nil || !bytes.Equal(msg, b) {
		t.Fatal(err)
	}
	rp := d.Framing.ReplyPrefix(p)
	if !bytes.Equal(rp[1:3], p[3:5]) || !bytes.Equal(rp[3:5], p[1:3]) {
		t.Fatalf("reply TPDU % X for % X", rp, p)
	}
}

// Our in-place length headers must be byte-identical to moov's network headers.
func TestLengthHeadersMatchMoov(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 99, 100, 1234, 9999} {
		var want bytes.Buffer
		h2 := network.NewBinary2BytesHeader()
		_ = h2.SetLength(n)
		_, _ = h2.WriteTo(&want)
		check(t, Binary2, n, want.Bytes())

		want.Reset()
		hb := network.NewBCD2BytesHeader()
		hb.SetLength(n)
		_, _ = hb.WriteTo(&want)
		check(t, BCD2, n, want.Bytes())

		want.Reset()
		ha := network.NewASCII4BytesHeader()
		ha.SetLength(n)
		_, _ = ha.WriteTo(&want)
		check(t, ASCII4, n, want.Bytes())
	}
	if err := BCD2.Put(make([]byte, 2), 10000); err == nil {
		t.Fatal("bcd2 accepted 10000")
	}
	if _, err := ASCII4.Get([]byte("12a4")); err == nil {
		t.Fatal("ascii4 accepted a letter")
	}
	if _, err := BCD2.Get([]byte{0x1A, 0x00}); err == nil {
		t.Fatal("bcd2 accepted a non-digit nibble")
	}
}

func check(t *testing.T, h LengthHeader, n int, want []byte) {
	t.Helper()
	got := make([]byte, h.Size())
	if err := h.Put(got, n); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s %d: % X, moov % X", h, n, got, want)
	}
	back, err := h.Get(got)
	if err != nil || back != n {
		t.Fatalf("%s %d decoded as %d (%v)", h, n, back, err)
	}
}

func TestBuildOptionsAndErrors(t *testing.T) {
	no := false
	d, err := Build("iso87bin", Options{LengthHeader: "ascii4", TPDU: "6000120034", Header: "none", LengthCountsHeader: &no})
	if err != nil {
		t.Fatal(err)
	}
	if d.Framing.Length != ASCII4 || len(d.Framing.Header) != 0 || d.Framing.PayloadLen(10) != 15 {
		t.Fatalf("options not applied: %+v", d.Framing)
	}
	for _, bad := range []Options{{LengthHeader: "none"}, {TPDU: "7000000000"}, {TPDU: "60"}, {Header: "zz"}} {
		if _, err := Build("iso87bin", bad); err == nil {
			t.Fatalf("accepted %+v", bad)
		}
	}
	if _, err := Lookup("spec87"); err == nil || !strings.Contains(err.Error(), "iso87ascii") {
		t.Fatalf("unknown dialect error should list valid ones: %v", err)
	}
}

func TestMTIHelpers(t *testing.T) {
	for req, resp := range map[string]string{"0100": "0110", "0200": "0210", "0400": "0410", "0401": "0410", "0420": "0430", "0421": "0430", "0800": "0810"} {
		got, err := ResponseMTI(req)
		if err != nil || got != resp {
			t.Fatalf("%s → %s (%v), want %s", req, got, err, resp)
		}
	}
	if _, err := ResponseMTI("0210"); err == nil {
		t.Fatal("response of a response")
	}
}

func TestMaskingNeverShowsSecrets(t *testing.T) {
	d, _ := Lookup("iso87ascii")
	m, err := d.Unpack(sample(t, d))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Describe(&out, m); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{"4111111111111111", "2812101", "0102030405060708"} {
		if strings.Contains(s, secret) {
			t.Fatalf("describe shows %q:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "411111******1111") {
		t.Fatalf("PAN not masked 6/4:\n%s", s)
	}
	if MaskPAN("12345678") != "****5678" {
		t.Fatal(MaskPAN("12345678"))
	}
}

func FuzzUnpack(f *testing.F) {
	for _, name := range Names() {
		d, _ := Lookup(name)
		f.Add(name == "iso87bin", sample(f, d))
	}
	f.Fuzz(func(t *testing.T, bin bool, b []byte) {
		name := "iso87ascii"
		if bin {
			name = "iso87bin"
		}
		d, _ := Lookup(name)
		_, _ = d.Unpack(b) // must not panic
	})
}

func FuzzLengthHeader(f *testing.F) {
	f.Add(uint8(0), []byte{0, 5})
	f.Add(uint8(2), []byte("0012"))
	f.Fuzz(func(t *testing.T, k uint8, b []byte) {
		h := LengthHeader(k % 3)
		if len(b) < h.Size() {
			return
		}
		n, err := h.Get(b)
		if err == nil && (n < 0 || n > h.Max()) {
			t.Fatalf("%s decoded %d", h, n)
		}
	})
}

// Our BCD must be byte-identical to moov's encoding.BCD and prefix.BCD.
func TestBCDMatchesMoov(t *testing.T) {
	for _, s := range []string{"", "0", "7", "12", "123", "0200", "000123", "4761739001010010", "476173900101001"} {
		want, err := encoding.BCD.Encode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		got, err := packedBCD{}.Encode([]byte(s))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%q: % X, moov % X (%v)", s, got, want, err)
		}
		back, n, err := packedBCD{}.Decode(got, len(s))
		mb, mn, _ := encoding.BCD.Decode(want, len(s))
		if err != nil || string(back) != string(mb) || n != mn {
			t.Fatalf("%q: decoded %q/%d, moov %q/%d (%v)", s, back, n, mb, mn, err)
		}
	}
	for _, n := range []int{0, 5, 19, 99, 104, 999} {
		for _, p := range []struct{ ours, moov prefix.Prefixer }{{bcdLength{2}, prefix.BCD.LL}, {bcdLength{3}, prefix.BCD.LLL}} {
			want, werr := p.moov.EncodeLength(999, n)
			got, gerr := p.ours.EncodeLength(999, n)
			if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("length %d: % X (%v), moov % X (%v)", n, got, gerr, want, werr)
			}
		}
	}
	if _, err := (packedBCD{}).Encode([]byte("12a")); err == nil {
		t.Fatal("accepted a letter")
	}
}
