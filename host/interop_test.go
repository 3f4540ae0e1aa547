package host

import (
	"fmt"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/internal/iso"
)

// Interop in every built-in dialect: an iso8583-connection client, with the
// dialect's spec and its framing (length header, TPDU, header) expressed in
// that library's length reader/writer, gets matched answers from our host.
func TestMoovClientInteropEveryDialect(t *testing.T) {
	for _, name := range iso.Names() {
		t.Run(name, func(t *testing.T) {
			d, _ := iso.Lookup(name)
			h := startHost(t, Config{Dialect: d})
			readLen, writeLen := d.Framing.MoovLengthFuncs()
			c, err := connection.New(h.Addr().String(), d.Spec, readLen, writeLen, connection.SendTimeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Connect(); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			so := d.NewMessage()
			so.MTI(d.MTI(iso.NetworkRequest))
			for id, v := range map[int]string{7: "1202101500", 11: "000001", 41: "MOOV0001"} {
				_ = iso.Set(so, id, v)
			}
			_ = d.SetNetworkCode(so, "001")
			resp, err := c.Send(so)
			if err != nil || d.RC(resp) != "00" {
				t.Fatalf("sign-on: %v %s", err, iso.Summary(resp))
			}
			if mti, _ := resp.GetMTI(); mti != d.MTI(iso.NetworkResponse) {
				t.Fatalf("sign-on answered %s", mti)
			}
			for i, tc := range []struct{ pan, rc string }{{"4761739001010010", "00"}, {"4000000000000002", "51"}, {"4000000000000069", "54"}} {
				m := d.NewMessage()
				m.MTI(d.MTI(iso.FinancialRequest))
				stan := fmt.Sprintf("%06d", i+2)
				for id, v := range map[int]string{2: tc.pan, 3: "000000", 4: "1000", 7: "1202101500", 11: stan, 41: "MOOV0001", 42: "MERCHANT", 49: "978"} {
					if err := iso.Set(m, id, v); err != nil {
						t.Fatal(err)
					}
				}
				_ = d.SetEntryMode(m, "901")
				resp, err := c.Send(m)
				if err != nil {
					t.Fatal(err)
				}
				if mti, _ := resp.GetMTI(); mti != d.MTI(iso.FinancialResponse) || iso.Get(resp, 11) != stan || d.RC(resp) != tc.rc {
					t.Fatalf("%s: %s", tc.pan, iso.Summary(resp))
				}
			}
		})
	}
}
