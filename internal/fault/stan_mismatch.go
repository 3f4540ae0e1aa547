package fault

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

func init() {
	register(&faultType{
		TypeInfo: TypeInfo{
			Name:  "stan-mismatch",
			Level: LevelMessage,
			Attributes: []Attribute{
				{Name: "value", Kind: KindString, Default: "", Doc: "the STAN to put in the response; default the request's STAN + 1", check: digits(6)},
			},
			Symptom:       "The response carries another STAN (field 11): the terminal cannot match it (unmatched: STAN differs) and times out.",
			DefaultStream: Downstream,
			Inbound:       true,
		},
		msg: func(a attrs) (msgFault, error) { return stanFault{a.str("value")}, nil },
	})
}

type stanFault struct{ stan string }

func (stanFault) applies(m *iso8583.Message, mti string) bool {
	return iso.IsResponse(mti) && iso.Has(m, 11)
}
func (stanFault) inbound() bool { return true }
func (f stanFault) apply(c *call, _ *rand.Rand) (string, bool) {
	return rewriteField(c, 11, "STAN", f.stan, func(old string) string {
		n, _ := strconv.Atoi(old)
		return fmt.Sprintf("%06d", (n+1)%1000000)
	})
}

// rewriteField sets field id of the response being edited to v, or to
// other(old) when v is empty, and describes the change as "what old→new"
// (the new value as the field holds it, padding trimmed).
func rewriteField(c *call, id int, what, v string, other func(old string) string) (string, bool) {
	m, ok := c.edit()
	if !ok {
		return "", false
	}
	old := strings.TrimRight(iso.Get(m, id), " ")
	if v == "" {
		v = other(old)
	}
	if iso.Set(m, id, v) != nil {
		return "", false
	}
	return what + " " + old + "→" + strings.TrimRight(iso.Get(m, id), " "), true
}

// digits checks 1..n decimal digits.
func digits(n int) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		if len(s) > n {
			return fmt.Errorf("at most %d digits", n)
		}
		for _, c := range s {
			if c < '0' || c > '9' {
				return fmt.Errorf("digits only")
			}
		}
		return nil
	}
}
