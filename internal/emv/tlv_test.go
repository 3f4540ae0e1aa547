package emv

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestBuildCarriesEveryTagAndReadsBack(t *testing.T) {
	b, err := Build(Request{Amount: 1234, Currency: "978", Country: "250", Date: "261202", TxType: 0x00, UN: 0xCAFEBABE, ATC: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(b); err != nil {
		t.Fatal(err)
	}
	objs, _ := Decode(b)
	amt, _ := Find(objs, 0x9F02)
	if hex.EncodeToString(amt) != "000000001234" {
		t.Fatalf("9F02 %x", amt)
	}
	if cur, _ := Find(objs, 0x5F2A); hex.EncodeToString(cur) != "0978" {
		t.Fatalf("5F2A %x", cur)
	}
	if !bytes.Equal(Encode(objs), b) {
		t.Fatal("re-encode differs")
	}
	// a published-style encoding: 9F02 06 000000001234
	if !bytes.Contains(b, []byte{0x9F, 0x02, 0x06, 0, 0, 0, 0, 0x12, 0x34}) {
		t.Fatal("9F02 not as EMV Book 3 writes it")
	}
	if d := Describe(b); strings.Contains(d, "1234") || !strings.Contains(d, "9F26(8)") {
		t.Fatalf("describe shows values or lacks tags: %s", d)
	}
}

func TestLongLengthsAndErrors(t *testing.T) {
	long := Encode([]TLV{{0x9F10, bytes.Repeat([]byte{1}, 200)}, {0x82, []byte{1, 2}}})
	if long[2] != 0x81 || long[3] != 200 {
		t.Fatalf("long form %x", long[:4])
	}
	objs, err := Decode(long)
	if err != nil || len(objs) != 2 || len(objs[0].Value) != 200 {
		t.Fatal(err)
	}
	for _, bad := range []string{"9F", "9F02", "9F0206AABB", "9F0284000000", "82"} {
		b, _ := hex.DecodeString(bad)
		if _, err := Decode(b); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	b, _ := Build(Request{Currency: "978", Country: "250", Date: "261202"})
	objs, _ = Decode(b)
	if err := Check(Encode(objs[1:])); err == nil || !strings.Contains(err.Error(), "9F26") {
		t.Fatalf("missing cryptogram: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Build(Request{Currency: "978", Country: "250", Date: "261202"})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := Decode(b)
		if err == nil {
			_ = Encode(objs)
		}
	})
}
