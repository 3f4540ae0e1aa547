package fault

import (
	"strings"
	"testing"
)

func TestFaultsOnTheWrongSideAreRefused(t *testing.T) {
	for _, c := range []struct {
		spec string
		side Side
		want string // "" accepted; else a word of the error
	}{
		{"die", Host, "the terminal"},
		{"crash", Terminal, "the host"},
		{"unsolicited", Terminal, "the host"},
		{"unsolicited", ProxyUpstream, "the host"},
		{"refuse", Terminal, "the proxy"},
		{"die", Terminal, ""},
		{"crash", Host, ""},
		{"refuse", ProxyDownstream, ""},
		{"drop", Terminal, ""},
		{"drop", Host, ""},
		{"crash", 0, ""},
	} {
		rules, err := ParseSpecs([]string{c.spec})
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(rules, Options{Seed: 1, Side: c.side})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s on %v: %v", c.spec, c.side, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.spec)):
			t.Errorf("%s on %v: %v, want an error naming %q", c.spec, c.side, err, c.want)
		}
		// Rules added at run time (control API) are checked the same way.
		rs, _ := New(nil, Options{Seed: 1, Side: c.side})
		if _, err := rs.AddSpec(c.spec); (err == nil) != (c.want == "") {
			t.Errorf("AddSpec %s on %v: %v", c.spec, c.side, err)
		}
	}
}
