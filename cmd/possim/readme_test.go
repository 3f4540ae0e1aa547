package main

// The README's examples are run by this test, so the README cannot drift
// from the binary: every fenced ```sh block is turned into a bash script that
// runs the real binary with the ports replaced by free ephemeral ones on
// 127.0.0.1 (and long --duration values shortened), and each command's
// output is checked against what its comment in the README promises
// (APPROVED, DECLINED, rc=51, a KCV or MAC value ...).

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/internal/testkit"
)

// possimBinary builds the binary once per test process (without -race: it
// is the user's binary that the README talks about); TestMain removes it.
func possimBinary(t *testing.T) string { t.Helper(); return testkit.Possim(t) }

// readmeBlock is one fenced sh block of the README.
type readmeBlock struct {
	line     int // line of the opening fence
	commands []readmeCommand
}

type readmeCommand struct {
	line    int
	text    string // the command, continuation lines joined
	comment string // the README's promise about it
	bg      bool   // ends in &
}

// commentRE finds the comment after a command: two or more spaces, then #.
var commentRE = regexp.MustCompile(`\s{2,}#\s?(.*)$`)

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readmeBlock
	var cur *readmeBlock
	var pending string
	pendingLine := 0
	for i, l := range strings.Split(string(data), "\n") {
		n := i + 1
		switch {
		case cur == nil && strings.TrimSpace(l) == "```sh":
			blocks = append(blocks, readmeBlock{line: n})
			cur = &blocks[len(blocks)-1]
			continue
		case cur != nil && strings.TrimSpace(l) == "```":
			cur = nil
			continue
		case cur == nil:
			continue
		}
		if pending == "" {
			pendingLine = n
		}
		code, comment := l, ""
		if m := commentRE.FindStringSubmatchIndex(l); m != nil {
			code, comment = l[:m[0]], l[m[2]:m[3]]
		}
		code = strings.TrimSpace(code)
		if strings.HasSuffix(code, `\`) {
			pending += strings.TrimSuffix(code, `\`) + " " // a comment on a continuation line is dropped
			continue
		}
		code = pending + code
		pending = ""
		if code == "" || strings.HasPrefix(code, "#") {
			continue
		}
		c := readmeCommand{line: pendingLine, text: code, comment: comment}
		if strings.HasSuffix(code, "&") {
			c.bg, c.text = true, strings.TrimSpace(strings.TrimSuffix(code, "&"))
		}
		cur.commands = append(cur.commands, c)
	}
	return blocks
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var (
	portRE     = regexp.MustCompile(`(127\.0\.0\.1|localhost):(\d{4,5})\b`)
	durationRE = regexp.MustCompile(`--duration (\d+[smh])\b`)
	stageRE    = regexp.MustCompile(`(\d+)s:`)
	// promises: status words, "rc=NN", and hex values (KCVs, MACs) that the
	// README says a command prints.
	statusRE = regexp.MustCompile(`\b(APPROVED|DECLINED|NOT SENT|TIMEOUT REVERSED|FAILED|PASS|FAIL)\b`)
	rcRE     = regexp.MustCompile(`\brc=(\d\d)\b`)
	hexRE    = regexp.MustCompile(`\b[0-9A-F]{6,16}\b`)
)

// rewrite turns one README command into what the test runs.
func rewrite(c readmeCommand, bin string, ports map[string]int, t *testing.T) (cmd string, listen int) {
	port := func(p string) int {
		if _, ok := ports[p]; !ok {
			ports[p] = freePort(t)
		}
		return ports[p]
	}
	s := strings.ReplaceAll(c.text, "bin/possim", bin)
	s = portRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := portRE.FindStringSubmatch(m)
		return fmt.Sprintf("%s:%d", sub[1], port(sub[2]))
	})
	fields := strings.Fields(c.text)
	sub := ""
	if len(fields) > 1 && fields[0] == "bin/possim" {
		sub = fields[1]
	}
	// The defaults (host on 127.0.0.1:8583, terminal to it) get the same
	// replaced port.
	switch {
	case sub == "host" && !strings.Contains(s, "--listen"):
		s = strings.Replace(s, bin+" host", fmt.Sprintf("%s host --listen 127.0.0.1:%d", bin, port("8583")), 1)
	case sub == "terminal" && !strings.Contains(s, "--target"):
		s = strings.Replace(s, bin+" terminal", fmt.Sprintf("%s terminal --target 127.0.0.1:%d", bin, port("8583")), 1)
	}
	if c.bg {
		// A background server is ready when the last thing it opens accepts:
		// the control API when it has one (it starts after the listener),
		// otherwise its listener.
		for _, flag := range []string{"--control ", "--listen "} {
			if i := strings.Index(s, flag); i >= 0 {
				if m := portRE.FindStringSubmatch(s[i:]); m != nil {
					listen, _ = strconv.Atoi(m[2])
					break
				}
			}
		}
	}
	// Long runs are shortened: the README shows realistic durations, the
	// test only needs to see the command work.
	s = durationRE.ReplaceAllStringFunc(s, func(m string) string {
		d, _ := time.ParseDuration(durationRE.FindStringSubmatch(m)[1])
		return fmt.Sprintf("--duration %s", min(max(d/5, time.Second), 3*time.Second))
	})
	if strings.Contains(s, "--stages") {
		s = stageRE.ReplaceAllStringFunc(s, func(m string) string {
			n, _ := strconv.Atoi(stageRE.FindStringSubmatch(m)[1])
			return fmt.Sprintf("%dms:", n*1000/5)
		})
	}
	return s, listen
}

func TestReadmeExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs every README example")
	}
	blocks := readmeBlocks(t)
	if len(blocks) < 5 {
		t.Fatalf("found %d sh blocks in the README", len(blocks))
	}
	bin := possimBinary(t)
	for _, b := range blocks {
		// `make build` is what possimBinary did; `make run` and `make test`
		// are what CI itself runs; a live tshark capture runs until
		// interrupted.
		// A block that calls a bare `possim` (not bin/possim) shows what
		// to run on other machines (segments, Kubernetes): it targets hosts
		// that are not here.
		elsewhere := false
		var cmds []readmeCommand
		for _, c := range b.commands {
			if strings.HasPrefix(c.text, "possim ") {
				elsewhere = true
			}
			switch strings.Fields(c.text)[0] {
			case "make", "tshark", "docker", "kubectl":
				continue
			}
			cmds = append(cmds, c)
		}
		b.commands = cmds
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			if len(cmds) == 0 {
				t.Skip("nothing but make, tshark, docker or kubectl")
			}
			if elsewhere {
				t.Skip("an example for other machines (bare `possim`, a remote target)")
			}
			runReadmeBlock(t, b, bin)
		})
	}
}

func runReadmeBlock(t *testing.T, b readmeBlock, bin string) {
	dir := t.TempDir()
	ports := map[string]int{}
	var script strings.Builder
	// waitport: a background server is ready when its port accepts; bounded.
	script.WriteString(`waitport() { for i in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.025; done; echo "port $1 never opened" >&2; return 1; }` + "\n")
	script.WriteString("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n")
	for i, c := range b.commands {
		cmd, listen := rewrite(c, bin, ports, t)
		if c.bg {
			fmt.Fprintf(&script, "%s > bg.%d 2>&1 &\n", cmd, i)
			if listen > 0 {
				fmt.Fprintf(&script, "waitport %d || exit 99\n", listen)
			}
			continue
		}
		fmt.Fprintf(&script, "{ %s ; } > out.%d 2>&1; echo $? > rc.%d\n", cmd, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "block.sh"), []byte(script.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", "block.sh")
	run.Dir = dir
	out, err := run.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("README block at line %d did not finish in 90 s:\n%s", b.line, script.String())
	}
	if err != nil {
		t.Fatalf("README block at line %d: %v\n%s\nscript:\n%s", b.line, err, out, script.String())
	}
	for i, c := range b.commands {
		if c.bg {
			continue
		}
		rcb, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("rc.%d", i)))
		if err != nil {
			t.Errorf("README:%d %q did not run", c.line, c.text)
			continue
		}
		rc, _ := strconv.Atoi(strings.TrimSpace(string(rcb)))
		outb, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("out.%d", i)))
		t.Logf("README.md:%d $ %s  → exit %d\n%s", c.line, c.text, rc, outb)
		checkReadmePromise(t, c, rc, string(outb))
	}
}

func checkReadmePromise(t *testing.T, c readmeCommand, rc int, out string) {
	t.Helper()
	where := fmt.Sprintf("README.md:%d `%s`", c.line, c.text)
	isPossim := strings.HasPrefix(c.text, "bin/possim")
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") && strings.Contains(out, ".go:") {
		t.Errorf("%s panicked:\n%s", where, out)
	}
	wantFail := strings.Contains(c.comment, "exit 2") || strings.Contains(c.comment, "fails")
	switch {
	case isPossim && rc == 2 && !wantFail:
		t.Errorf("%s: exit 2 (usage or configuration error):\n%s", where, out)
	case rc > 2 && rc != 130:
		t.Errorf("%s: exit %d:\n%s", where, rc, out)
	case !isPossim && rc != 0 && !strings.HasPrefix(c.text, "kill"):
		t.Errorf("%s: exit %d:\n%s", where, rc, out)
	}
	// "about half the time", "or", "maybe": promises that depend on chance
	// are not checked word for word.
	if strings.Contains(c.comment, "half the time") || strings.Contains(c.comment, "depends on") || strings.Contains(c.comment, " or ") {
		return
	}
	// Promises in words: the phrase in the comment, and what the output
	// must then contain.
	for phrase, want := range map[string]string{
		"classified late": "late", "reversal": "reversal", "KCV mismatch": "KCV", "working keys": "working keys",
	} {
		if strings.Contains(c.comment, phrase) && !strings.Contains(out, want) {
			t.Errorf("%s: the README promises %q; the output:\n%s", where, phrase, out)
		}
	}
	up := strings.ToUpper(out)
	for _, w := range statusRE.FindAllString(c.comment, -1) {
		if !strings.Contains(up, w) {
			t.Errorf("%s: the README promises %q; the output:\n%s", where, w, out)
		}
	}
	for _, m := range rcRE.FindAllStringSubmatch(c.comment, -1) {
		if !strings.Contains(out, "rc="+m[1]) && !strings.Contains(out, "RC "+m[1]) && !strings.Contains(out, "rc "+m[1]) {
			t.Errorf("%s: the README promises rc=%s; the output:\n%s", where, m[1], out)
		}
	}
	for _, h := range hexRE.FindAllString(c.comment, -1) {
		if strings.ContainsAny(h, "ABCDEF") && !strings.Contains(up, h) {
			t.Errorf("%s: the README promises %s; the output:\n%s", where, h, out)
		}
	}
}
