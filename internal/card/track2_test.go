package card

import "testing"

func TestTrack2RoundTrip(t *testing.T) {
	s, err := Track2("4000000000000309", "2812", "201", "0000123")
	if err != nil || s != "4000000000000309=28122010000123" {
		t.Fatalf("%q %v", s, err)
	}
	d, err := ParseTrack2(s)
	if err != nil || d.PAN != "4000000000000309" || d.Expiry != "2812" || d.ServiceCode != "201" || d.Discretionary != "0000123" {
		t.Fatalf("%+v %v", d, err)
	}
	for _, bad := range [][4]string{{"4000", "2812", "201", ""}, {"4000000000000309", "28", "201", ""}, {"4000000000000309", "2812", "2a1", ""}} {
		if _, err := Track2(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := ParseTrack2("4000=2812"); err == nil {
		t.Fatal("short track accepted")
	}
}

func TestLuhn(t *testing.T) {
	for pan, ok := range map[string]bool{"4111111111111111": true, "4111111111111112": false, "4000000000000002": true, "79927398713": true} {
		if Luhn(pan) != ok {
			t.Errorf("%s: %v", pan, !ok)
		}
	}
}
