package testkit

import (
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := 0
	defer func() { RemoveBuilt(); os.Exit(code) }()
	code = m.Run()
}

// The kit is for tests: no non-test file of the module may import it or
// its sub-packages (hostkit).
func TestNoProductionImports(t *testing.T) {
	root := filepath.Join("..", "..")
	kit := filepath.Join(root, "internal", "testkit")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		if d := filepath.Dir(p); d == kit || strings.HasPrefix(d, kit+string(filepath.Separator)) {
			return nil // the kit itself
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			if path := strings.Trim(im.Path.Value, `"`); path == kitPath || strings.HasPrefix(path, kitPath+"/") {
				t.Errorf("%s: non-test code imports testkit", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

const kitPath = "github.com/possim/possim/internal/testkit"

func TestFrameRoundTripOverLoopback(t *testing.T) {
	c, s := Pair(t)
	body := bytes.Repeat([]byte("x"), 300) // over 255: both header bytes matter
	go func() { _, _ = c.Write(Frame(body)) }()
	if got := ReadFrame(t, s); !bytes.Equal(got, body) {
		t.Fatalf("got %d bytes, want %d", len(got), len(body))
	}
	var b bytes.Buffer
	if _, err := WriteLen(&b, 4660); err != nil {
		t.Fatal(err)
	}
	if b.String() != "\x12\x34" {
		t.Fatalf("header %q", b.String())
	}
	if n, err := ReadLen(&b); err != nil || n != 4660 {
		t.Fatalf("ReadLen = %d, %v", n, err)
	}
}

type fakeServer struct {
	ln     net.Listener
	closed bool
}

func (f *fakeServer) Start() (err error) { f.ln, err = net.Listen("tcp", Loopback); return err }
func (f *fakeServer) Close() error       { f.closed = true; return f.ln.Close() }

func TestServeStartsAndCloses(t *testing.T) {
	f := &fakeServer{}
	t.Run("inner", func(t *testing.T) {
		Serve(t, f, nil)
		c := Dial(t, f.ln.Addr().String())
		if c == nil {
			t.Fatal("no conn")
		}
	})
	if !f.closed {
		t.Fatal("Serve did not close the server at the end of the test")
	}
}

type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatal(args ...any)     { r.failed = "fatal"; panic(r) }
func (r *recorder) Fatalf(string, ...any) { r.failed = "fatalf"; panic(r) }
func (r *recorder) Cleanup(func())        {}

func TestServeFailsOnConstructorError(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		Serve(r, &fakeServer{}, errors.New("bad config"))
	}()
	if r.failed == "" {
		t.Fatal("a constructor error did not fail the test")
	}
}

func TestLast(t *testing.T) {
	ev := []string{"a sign-on", "b mac", "c sign-on"}
	if got := Last(ev, "sign-on"); got != "c sign-on" {
		t.Fatalf("Last = %q", got)
	}
	if got := Last(ev, "nope"); got != "" {
		t.Fatalf("Last = %q", got)
	}
}

func TestWriteFile(t *testing.T) {
	p := WriteFile(t, "rules.yaml", "default: {rc: \"00\"}\n")
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "default: {rc: \"00\"}\n" {
		t.Fatalf("%q %v", b, err)
	}
}

func TestPossimBuildsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	a, b := Possim(t), Possim(t)
	if a != b {
		t.Fatalf("built twice: %s, %s", a, b)
	}
	out, err := exec.Command(a, "--help").Output()
	if err != nil || !strings.Contains(string(out), "possim") {
		t.Fatalf("%s --help: %v\n%s", a, err, out)
	}
}

func TestLastOf(t *testing.T) {
	n, ok := LastOf([]int{1, 4, 3, 6, 5}, func(i int) bool { return i%2 == 0 })
	if !ok || n != 6 {
		t.Fatalf("LastOf = %d, %v", n, ok)
	}
	if n, ok := LastOf([]int{1, 3}, func(i int) bool { return i%2 == 0 }); ok || n != 0 {
		t.Fatalf("LastOf = %d, %v", n, ok)
	}
}

func TestPeerServesUntilTheTestEnds(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		addr = Peer(t, func(c net.Conn) { _, _ = c.Write([]byte("hi")) })
		c := Dial(t, addr)
		b := make([]byte, 2)
		if _, err := io.ReadFull(c, b); err != nil || string(b) != "hi" {
			t.Fatalf("%q %v", b, err)
		}
		// The handler has returned: the peer closed its end.
		if _, err := c.Read(b); err != io.EOF {
			t.Fatalf("after the handler: %v", err)
		}
	})
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the peer still listens after its test")
	}
	if c, err := net.Dial("tcp", Refused(t)); err == nil {
		c.Close()
		t.Fatal("Refused's address accepted a connection")
	}
}
