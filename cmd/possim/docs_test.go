package main

import (
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/possim/possim/host"
	"github.com/possim/possim/scenarios"
)

// The formats the binary prints are the formats it reads: the rules
// example parses, the scenario template validates, every host config key
// names a host flag.
func TestDocsTopics(t *testing.T) {
	code, out, errOut := runCmd("docs", "rules")
	if code != 0 || !strings.Contains(out, "respond:") || !strings.Contains(out, "insufficient funds") {
		t.Fatalf("docs rules: %d %q", code, errOut)
	}
	example := out[strings.Index(out, "rules:\n"):strings.Index(out, "\nRun 'possim host")]
	example = regexp.MustCompile(`(?m)\s+#.*$`).ReplaceAllString(example, "")
	if _, err := host.ParseRules("docs", []byte(example)); err != nil {
		t.Fatalf("the documented rules example does not parse: %v\n%s", err, example)
	}
	code, out, _ = runCmd("docs", "scenario")
	if code != 0 {
		t.Fatal(code)
	}
	if _, err := scenarios.Load("example.yaml", []byte(out)); err != nil {
		t.Fatalf("the documented scenario does not validate: %v", err)
	}
	code, out, _ = runCmd("docs", "host-config")
	if code != 0 || !strings.Contains(out, "max_conns:") || !strings.Contains(out, "(default 10000)") {
		t.Fatalf("docs host-config: %d\n%s", code, out)
	}
	for k := range hostConfigKeys {
		if !strings.Contains(out, "  "+k+":") {
			t.Errorf("host-config doc lacks %s", k)
		}
	}
	for _, args := range [][]string{{"docs"}, {"docs", "nope"}, {"docs", "rules", "x"}} {
		if code, _, errOut := runCmd(args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d", args, code)
		}
	}
}

// --help of every command goes to stdout, with examples; a bad flag still
// goes to stderr with exit 2.
func TestHelpGoesToStdoutWithExamples(t *testing.T) {
	for name := range commands {
		code, out, errOut := runCmd(name, "--help")
		if code != 0 || !strings.Contains(out, "possim "+name) {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", name, code, out, errOut)
			continue
		}
		if !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help has no examples:\n%s", name, out)
		}
	}
	if code, out, errOut := runCmd("host", "--bogus"); code != 2 || out != "" || !strings.Contains(errOut, "--bogus") {
		t.Errorf("bad flag: %d %q %q", code, out, errOut)
	}
}

// Faults on the wrong side, an empty faults file and a host that cannot
// listen are configuration errors (exit 2) that say what to do.
func TestConfigurationErrorsExit2(t *testing.T) {
	empty := writeScenario(t, "faults.yaml", "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"host", "--fault", "die"}, "carried out by the terminal"},
		{[]string{"terminal", "--journal", "none", "--fault", "crash", "purchase"}, "carried out by the host"},
		{[]string{"terminal", "--journal", "none", "--fault", "unsolicited", "purchase"}, "carried out by the host"},
		{[]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--fault", "die"}, "not by the proxy"},
		{[]string{"host", "--faults", empty}, "has no fault rules"},
		{[]string{"host", "--listen", "bogus"}, "--listen bogus"},
		{[]string{"host", "--listen", busy.Addr().String()}, "address already in use"},
		{[]string{"host", "--listen", "192.0.2.1:1"}, "--listen 192.0.2.1:1"}, // an address not on this machine
		{[]string{"faults", "dely"}, `did you mean "delay"`},
	} {
		code, _, errOut := runCmd(c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
