package iso

import "testing"

func TestValidators(t *testing.T) {
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"mti 0200", CheckMTI("0200"), true},
		{"mti 200", CheckMTI("200"), false},
		{"mti 02a0", CheckMTI("02a0"), false},
		{"pc 20", CheckPCPrefix("20"), true},
		{"pc empty", CheckPCPrefix(""), false},
		{"pc 7 digits", CheckPCPrefix("0000000"), false},
		{"pc letters", CheckPCPrefix("2x"), false},
		{"tid padded", CheckTID("TERM1   "), true},
		{"tid blank", CheckTID("   "), false},
		{"tid 9", CheckTID("TERMINAL9"), false},
		{"tid value empty", CheckTIDValue(""), true},
		{"tid value 9", CheckTIDValue("TERMINAL9"), false},
		{"field 2", CheckField(2), true},
		{"field 128", CheckField(128), true},
		{"field 1", CheckField(1), false},
		{"field 129", CheckField(129), false},
	}
	for _, c := range cases {
		if (c.err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.name, c.err, c.ok)
		}
	}
	if id, err := ParseField("54"); id != 54 || err != nil {
		t.Fatalf("ParseField(54) = %d, %v", id, err)
	}
	for _, s := range []string{"x", "0", "200", ""} {
		if _, err := ParseField(s); err == nil || err.Error() != errFieldNum.Error() {
			t.Errorf("ParseField(%q) = %v", s, err)
		}
	}
}

// The one list of sensitive fields: cardholder and key data; the MACs are
// hidden in logs but are not sensitive.
func TestSensitive(t *testing.T) {
	for _, id := range []int{2, 34, 35, 36, 45, 52, 55, 62, 96} {
		if !Sensitive(id) {
			t.Errorf("field %d is not sensitive", id)
		}
	}
	for _, id := range []int{0, 3, 4, 11, 39, 41, 64, 70, 128} {
		if Sensitive(id) {
			t.Errorf("field %d is sensitive", id)
		}
	}
}
