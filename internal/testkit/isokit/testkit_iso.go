// Package isokit builds the ISO 8583 messages tests send by hand. It
// imports only internal/iso of possim, so the internal tests of link,
// fault and host can use it; like testkit it is for _test.go files only
// (TestNoProductionImports).
package isokit

import (
	"fmt"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// Message builds a message of dialect d from fields by number, the MTI as
// field 0, each set with iso.Set (fixed numeric fields zero-padded).
func Message(t testing.TB, d *iso.Dialect, fields map[int]string) *iso8583.Message {
	t.Helper()
	m := d.NewMessage()
	for id, v := range fields {
		if id == 0 {
			m.MTI(v)
			continue
		}
		if err := iso.Set(m, id, v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Sale is the request the link and fault tests send: a 0200 purchase
// (field 3 000000) of 1000 (field 4) from tid with STAN stan.
func Sale(t testing.TB, d *iso.Dialect, tid string, stan int) *iso8583.Message {
	t.Helper()
	return Message(t, d, map[int]string{0: "0200", 3: "000000", 4: "1000", 11: fmt.Sprintf("%06d", stan), 41: tid})
}

// Answer is the response to req (whose MTI is mti) with response code rc:
// the response MTI, fields 3, 4, 11 and 41 echoed, 39 set.
func Answer(d *iso.Dialect, mti string, req *iso8583.Message, rc string) *iso8583.Message {
	r := d.NewMessage()
	resp, _ := iso.ResponseMTI(mti)
	r.MTI(resp)
	for _, id := range []int{3, 4, 11, 41} {
		_ = iso.Set(r, id, iso.Get(req, id))
	}
	_ = iso.Set(r, 39, rc)
	return r
}
