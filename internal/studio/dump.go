package studio

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/internal/iso"
)

// sensitiveFields never appear in a hex dump: PAN, track data, PIN block,
// ICC data, key blocks, MACs, security codes. It is the set internal/iso's
// masked describe hides (TestHexMasksWhatDescribeMasks keeps them equal).
var sensitiveFields = map[int]string{
	2: "PAN", 34: "extended PAN", 35: "track 2", 36: "track 3", 45: "track 1", 52: "PIN block",
	55: "ICC data", 62: "key block", 64: "MAC", 96: "security code", 128: "MAC",
}

// MessageDump is a message's details as the page shows them.
type MessageDump struct {
	ID     int64      `json:"id"`
	From   string     `json:"from"`
	To     string     `json:"to"`
	Copies []DumpCopy `json:"copies"`
	Note   string     `json:"note,omitempty"`
}

// DumpCopy is the message as one end saw it.
type DumpCopy struct {
	Seen    string `json:"seen"`   // "as sent by terminal", "as received by host"
	Fields  string `json:"fields"` // masked field-by-field description
	Hex     string `json:"hex"`    // masked hex dump of the ISO message (MTI onwards)
	Length  int    `json:"length"` // bytes of the ISO message, framing not included
	Framing string `json:"framing,omitempty"`
}

func dumpMessage(k *keptMsg) MessageDump {
	d := MessageDump{ID: k.id, From: k.from, To: k.to}
	add := func(m *iso8583.Message, seen string, dl *iso.Dialect) {
		if m == nil {
			return
		}
		c := DumpCopy{Seen: seen}
		var b strings.Builder
		if err := iso.Describe(&b, m); err != nil {
			fmt.Fprintf(&b, "\n(describe: %v)", err)
		}
		c.Fields = b.String()
		c.Hex, c.Length = maskedHex(m)
		if dl != nil {
			c.Framing = dl.Framing.Describe()
		}
		d.Copies = append(d.Copies, c)
	}
	add(k.sent, "as sent by "+k.from, k.fromD)
	add(k.received, "as received by "+k.to, k.toD)
	if len(d.Copies) == 2 && d.Copies[0].Fields == d.Copies[1].Fields && d.Copies[0].Hex == d.Copies[1].Hex {
		d.Copies = d.Copies[:1]
		d.Copies[0].Seen = "as sent by " + k.from + " and received by " + k.to + " (identical)"
	}
	if k.received == nil && k.sent != nil {
		d.Note = "never seen at " + k.to
	}
	return d
}

// maskedHex packs m and writes a hex dump (16 bytes a line, offset, hex,
// ASCII) in which the bytes of every sensitive field are replaced by "**".
// The offsets come from packing each field on its own; when they do not
// add up to the packed message, the dump is withheld rather than risk
// showing a sensitive byte.
func maskedHex(m *iso8583.Message) (string, int) {
	packed, err := m.Pack()
	if err != nil {
		return "(cannot pack: " + err.Error() + ")", 0
	}
	fields := m.GetFields()
	ids := make([]int, 0, len(fields))
	for id := range fields {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	mask := make([]bool, len(packed))
	off := 0
	for _, id := range ids {
		if id != 1 && id%64 == 1 { // secondary/tertiary bitmap presence bits are inside the bitmap
			continue
		}
		b, err := fields[id].Pack()
		if err != nil {
			return "(hex withheld: field " + fmt.Sprint(id) + " does not pack on its own)", len(packed)
		}
		if off+len(b) > len(packed) || string(packed[off:off+len(b)]) != string(b) {
			return "(hex withheld: the field offsets could not be worked out)", len(packed)
		}
		if _, secret := sensitiveFields[id]; secret {
			for i := off; i < off+len(b); i++ {
				mask[i] = true
			}
		}
		off += len(b)
	}
	if off != len(packed) {
		return "(hex withheld: the field offsets could not be worked out)", len(packed)
	}
	var out strings.Builder
	for line := 0; line < len(packed); line += 16 {
		end := min(line+16, len(packed))
		fmt.Fprintf(&out, "%04x  ", line)
		var asc strings.Builder
		for i := line; i < line+16; i++ {
			switch {
			case i >= end:
				out.WriteString("   ")
			case mask[i]:
				out.WriteString("** ")
				asc.WriteByte('*')
			default:
				out.WriteString(hex.EncodeToString(packed[i : i+1]))
				out.WriteByte(' ')
				if c := packed[i]; c >= 0x20 && c < 0x7f {
					asc.WriteByte(c)
				} else {
					asc.WriteByte('.')
				}
			}
			if i == line+7 {
				out.WriteByte(' ')
			}
		}
		out.WriteString(" " + asc.String() + "\n")
	}
	return out.String(), len(packed)
}
