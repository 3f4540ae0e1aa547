package fault

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseYAML(t *testing.T) {
	rules, err := ParseYAML("faults.yaml", []byte(`
faults:
  - type: delay
    name: slow
    mti: [0200, 0210]
    field.39: "00"
    p: 0.1
    delay: 35s
  - spec: "rc:rc=05,nth=3"
  - "drop:mti=0210,count=1"
  - type: reset
    after: 3
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 4 {
		t.Fatalf("%d rules", len(rules))
	}
	d := rules[0]
	if d.Type != "delay" || d.Name != "slow" || strings.Join(d.Match.MTI, ",") != "0200,0210" || d.Match.Fields[39] != "00" ||
		d.P() != 0.1 || d.Attrs["delay"] != "35s" {
		t.Fatalf("%+v", d)
	}
	if rules[1].String() != "rc:nth=3,rc=05" || rules[2].Count != 1 || rules[3].Attrs["after"] != "3" {
		t.Fatalf("%v %v %v", rules[1], rules[2], rules[3])
	}
	rs, err := New(rules, Options{Seed: 1})
	if err != nil || len(rs.Rules()) != 4 {
		t.Fatal(err)
	}
	if r, err := ParseYAML("empty.yaml", nil); err != nil || r != nil {
		t.Fatal(r, err)
	}
	if r, err := ParseYAML("none.yaml", []byte("faults:\n")); err != nil || r != nil {
		t.Fatal(r, err)
	}
}

func TestParseYAMLStrict(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"faults:\n  - type: delay\n    delya: 2s\n", `f.yaml:3: fault delay: unknown key "delya" (did you mean "delay"?)`},
		{"faults:\n  - type: delay\n    delay: 2\n", `f.yaml:3: delay=2: not a duration`},
		{"faults:\n  - type: dely\n", `f.yaml:2: unknown fault type "dely" (did you mean "delay"?`},
		{"faults:\n  - type: drop\n    p: 1.5\n", `f.yaml:3: p=1.5: probability must be between 0 and 1`},
		{"fault:\n  - type: drop\n", `f.yaml:1: the faults file: unknown key "fault" (did you mean "faults"?)`},
		{"faults:\n  - delay: 2s\n", `f.yaml:2: a fault needs type:`},
		{"faults:\n  - type: drop\n    mti: {a: b}\n", `f.yaml:3: fault drop: mti: want a value or a list of values, got a mapping`},
		{"faults:\n  - type: drop\n    p: 1\n    p: 1\n", `f.yaml:4: fault drop: key "p" given twice (first at line 3)`},
		{"faults:\n  - spec: drop\n    p: 1\n", `f.yaml:2: spec: goes alone`},
		{"faults:\n  - spec: \"drop:p=9\"\n", `f.yaml:2: fault "drop:p=9": p=9: probability`},
		{"faults:\n  - \"dely\"\n", `f.yaml:2: fault "dely": unknown fault type`},
		{"faults:\n  - type: corrupt-field\n", `f.yaml:2: fault corrupt-field: corrupt-field needs field=`},
		{"faults: drop\n", `f.yaml:1: faults: want a list`},
		{"faults:\n  - [drop]\n", `f.yaml:2: a fault is a mapping`},
		{"faults: [\n", `f.yaml: yaml:`},
	} {
		_, err := ParseYAML("f.yaml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant …%s…", c.doc, err, c.want)
		}
	}
}

// A host config embeds a faults: list and hands the node over.
func TestDecodeYAMLEmbedded(t *testing.T) {
	var cfg struct {
		Listen string    `yaml:"listen"`
		Faults yaml.Node `yaml:"faults"`
	}
	doc := "listen: 127.0.0.1:8583\nfaults:\n  - type: unsolicited\n    code: \"002\"\n    every: 30s\n    after: 10s\n  - type: latency\n    latency: 5x\n"
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeYAML("host.yaml", &cfg.Faults)
	if err == nil || !strings.Contains(err.Error(), "host.yaml:8: latency=5x: not a duration") {
		t.Fatalf("%v", err)
	}
	cfg.Faults.Content = cfg.Faults.Content[:1]
	rules, err := DecodeYAML("host.yaml", &cfg.Faults)
	if err != nil || len(rules) != 1 || rules[0].Attrs["code"] != "002" || rules[0].After != 10*time.Second {
		t.Fatalf("%+v %v", rules, err)
	}
}
