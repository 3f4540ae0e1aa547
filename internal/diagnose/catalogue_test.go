package diagnose

import (
	"strings"
	"testing"
)

func TestCatalogueEntriesAreComplete(t *testing.T) {
	all := All()
	if len(all) < 20 {
		t.Fatalf("catalogue has %d causes", len(all))
	}
	known := map[Family]bool{}
	for _, f := range Families {
		known[f] = true
	}
	for _, c := range all {
		if !known[c.Family] {
			t.Errorf("%s: family %q is not one of the eight", c.ID, c.Family)
		}
		if fam := strings.SplitN(string(c.ID), ".", 2)[0]; fam == "" {
			t.Errorf("%s: no prefix", c.ID)
		}
		if err := c.validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestForRCNamesRegisteredCauses(t *testing.T) {
	for _, rc := range []string{"05", "30", "51", "54", "55", "63", "91", "96", "14", "XX"} {
		id := ForRC(rc)
		if _, ok := Lookup(id); !ok {
			t.Errorf("ForRC(%s) = %s, not registered", rc, id)
		}
	}
	if ForRC("51") != IssuerInsufficientFunds || ForRC("05") != IssuerDeclined {
		t.Error("ForRC mapping wrong")
	}
}

func TestUnknownIDNeverPanics(t *testing.T) {
	f := Finding{Cause: "nope.nothing"}
	if !strings.Contains(f.Entry().Engineer, "not in the catalogue") || f.FixText() == "" {
		t.Errorf("unknown id: %+v", f.Entry())
	}
}

func TestRegisterRejectsBadEntries(t *testing.T) {
	for _, c := range []Cause{
		{ID: "nodot", Family: FamilyLink, Title: "x", Merchant: "x", Engineer: "x", Evidence: "x", Fix: "x"},
		{ID: "link.Bad", Family: FamilyLink, Title: "x", Merchant: "x", Engineer: "x", Evidence: "x", Fix: "x"},
		{ID: "link.nofix", Family: FamilyLink, Title: "x", Merchant: "x", Engineer: "x", Evidence: "x"},
		{ID: LinkReset, Family: FamilyLink, Title: "x", Merchant: "x", Engineer: "x", Evidence: "x", Fix: "x"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s) did not refuse", c.ID)
				}
			}()
			Register(c)
		}()
	}
}
