package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// WriteFile writes body to name in the test's temp dir and returns the
// path — for YAML rule, fault, scenario and dialect files.
func WriteFile(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	buildOnce sync.Once
	builtBin  string
	buildDir  string
	buildErr  error
)

// Possim builds ./cmd/possim once per test process and returns the
// binary's path; a package that uses it removes the build with
// RemoveBuilt from its TestMain after m.Run.
func Possim(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		var root []byte
		root, buildErr = exec.Command("go", "env", "GOMOD").Output()
		if buildErr != nil {
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "possim-testkit-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "possim")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/possim")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building possim: %v", buildErr)
	}
	return builtBin
}

// RemoveBuilt deletes the binary Possim built, if any.
func RemoveBuilt() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
