package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/possim/possim/internal/studio"
)

func init() {
	register("studio", "the trainer's studio: a live web view of the link, fault buttons, the merchant's screen, scenarios", runStudio)
}

const studioSynopsis = `studio [flags]

Serves one web page (and its API) from the binary: the link live as a
ladder, the merchant's screen beside the wire, one button per failure of
the scenario library, library scenarios with pause, step and slow motion,
and each failed transaction's cause and fix. Works offline.

Examples:
  possim studio                                  # embedded host; open http://127.0.0.1:8080/
  possim studio --listen 127.0.0.1:9000 --timeout 2s
  possim studio --proxy                          # terminal → proxy → host: three lanes
  possim studio --host 10.0.0.5:5000 --dialect iso87bin   # drive a real host (its side is not seen)
  possim studio --listen 0.0.0.0:8080 --token s3cret      # for the room; open http://HOST:8080/#token=s3cret`

func runStudio(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("studio", studioSynopsis, stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the web page (off loopback needs --token)")
	target := fs.String("host", "embedded", "the host the studio's terminal talks to: 'embedded' or host:port")
	dialect := fs.String("dialect", "iso87ascii", "message dialect of the terminal (and the embedded host)")
	timeout := fs.Duration("timeout", 3*time.Second, "the terminal's response timeout")
	tid := fs.String("tid", "POSSIM01", "the terminal's TID (field 41)")
	withProxy := fs.Bool("proxy", false, "put possim's proxy between the terminal and the host: a third lane with faults of its own")
	seed := fs.Uint64("seed", 0, "seed for fault decisions (0: random)")
	token := fs.String("token", os.Getenv("POSSIM_STUDIO_TOKEN"), "bearer token the API requires (needed off loopback; default $POSSIM_STUDIO_TOKEN)")
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" {
			fmt.Fprintf(stdout, "Usage: possim %s\n\nFlags:\n%s", studioSynopsis, fs.FlagUsages())
			return 0
		}
	}
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 0 {
		return usageErr(stderr, "studio", "unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return usageErr(stderr, "studio", "--timeout %s: want a positive duration", *timeout)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := studio.Start(studio.Config{Listen: *listen, Token: *token, Logger: log,
		Session: studio.Options{Target: *target, Dialect: *dialect, Timeout: *timeout, TID: *tid, Seed: *seed, Proxy: *withProxy}})
	if err != nil {
		return usageErr(stderr, "studio", "%v", err)
	}
	fmt.Fprintf(stdout, "possim studio: open %s (Ctrl-C to stop)\n", srv.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = srv.Close()
	return 0
}
