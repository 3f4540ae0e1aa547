package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/internal/fault"
)

// possim faults add|set|ls|rm drive a running side's control API by name.
func TestFaultsClient(t *testing.T) {
	rs, err := fault.New(nil, fault.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, addr, err := fault.ListenControl("127.0.0.1:0", "s3cret", rs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctl := []string{"--control", addr.String(), "--control-token-file", tokFile}
	step := func(want int, wantOut string, args ...string) {
		t.Helper()
		code, out, errOut := runCmd(append(append([]string{"faults"}, args[:1]...), append(ctl, args[1:]...)...)...)
		if code != want || !strings.Contains(out+errOut, wantOut) {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	step(0, "added #1 slowlink", "add", "delay:name=slowlink,mti=0210,delay=3s")
	step(0, "slowlink (on): delay:name=slowlink,mti=0210,delay=5s", "set", "slowlink", "delay=5s")
	step(0, "(off)", "set", "slowlink", "enabled=false")
	if len(rs.Rules()) != 1 {
		t.Fatal("set removed the rule")
	}
	step(0, "slowlink  false", "ls")
	step(2, "bad", "set", "slowlink", "delay=bad")
	step(2, "did you mean", "add", "dely:p=1")
	step(0, "removed slowlink", "rm", "slowlink")
	step(1, "no fault with id, name or label", "rm", "slowlink")
	step(0, "no fault rules", "ls")
	// Without the token: refused.
	if code, _, errOut := runCmd("faults", "ls", "--control", addr.String()); code != 2 || !strings.Contains(errOut, "401") {
		t.Fatalf("no token: %d %s", code, errOut)
	}
}

// Secrets from files: an empty file is an error naming the flag and file;
// possim host --help documents the limits on stdout.
func TestHostSecretFilesAndLimitsHelp(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "tmk")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd("host", "--listen", "127.0.0.1:0", "--tmk-file", empty); code != 2 || !strings.Contains(errOut, "--tmk-file "+empty+": the file is empty") {
		t.Fatalf("empty tmk file: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd("host", "--listen", "127.0.0.1:0", "--tmk-file", empty+".missing"); code != 2 || !strings.Contains(errOut, "--tmk-file") {
		t.Fatalf("missing tmk file: %d %s", code, errOut)
	}
	code, out, _ := runCmd("host", "--help")
	for _, want := range []string{"--max-conns", "--first-frame-timeout", "--frame-timeout", "415", "403", "421", "64 KiB", "1000 rules", "--tmk-file", "--control-token-file", "Examples:"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("possim host --help (stdout) does not say %q", want)
		}
	}
}
