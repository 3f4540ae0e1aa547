package proxy

import (
	"testing"
	"time"
)

// Accept errors back off 5 ms, 10 ms, ... up to 1 s, never spinning.
func TestAcceptBackoffDoublesAndCaps(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 10 {
		d = nextBackoff(d)
		got = append(got, d)
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoffs %v, want %v ms", got, want)
		}
	}
}
