package main

import (
	"strings"
	"testing"
)

func TestStudioFlags(t *testing.T) {
	code, stdout, _ := runCmd("studio", "--help")
	if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "--listen") {
		t.Fatalf("studio --help: exit %d, stdout %q", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"studio", "--listen", "nope"}, "want host:port"},
		{[]string{"studio", "--listen", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"studio", "--timeout", "0s"}, "positive duration"},
		{[]string{"studio", "--dialect", "spec87", "--listen", "127.0.0.1:0"}, "spec87"},
		{[]string{"studio", "extra"}, "unexpected argument"},
		{[]string{"studio", "--bogus"}, "unknown flag"},
	} {
		code, _, stderr := runCmd(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 saying %q", tc.args, code, stderr, tc.want)
		}
	}
}
