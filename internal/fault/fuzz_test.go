package fault

import "testing"

// FuzzParseSpec: no input panics, and what parses prints back to a spec
// that parses to the same rule.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"delay:mti=0200|0210,p=0.1,delay=35s", "drop", "rc:rc=05,nth=3", "reset:after=3",
		"corrupt-field:field=39,mode=unpackable", "unsolicited:code=002,every=30s,after=10s", "drop:field.39=05,p=50%",
		"stan-mismatch:value=", "truncate:bytes=10,keep=3", "dely", "drop:name=a=b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSpec(s)
		if err != nil {
			return
		}
		again, err := ParseSpec(r.String())
		if err != nil {
			t.Fatalf("%q → %q: %v", s, r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("%q → %q → %q", s, r.String(), again.String())
		}
		if _, err := New([]Rule{r}, Options{Seed: 1}); err != nil {
			t.Fatalf("%q parses but does not build: %v", s, err)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"spec":"drop"}`, `{"type":"rc","mti":["0210"],"p":0.5,"rc":"05"}`, `{"type":"delay","delay":"2s","field.4":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseJSON([]byte(s))
		if err != nil {
			return
		}
		if _, err := New([]Rule{r}, Options{Seed: 1}); err != nil {
			t.Fatalf("%q parses but does not build: %v", s, err)
		}
	})
}
