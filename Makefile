GO      ?= go
BIN     := bin/possim
PKGS    := ./...

.PHONY: build run test lint bench bench-pertx bench-long bench-pacer bench-tail bench-links bench-micro fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/possim

# The demo: an embedded host and a terminal, a readable transcript; then a
# short load run against the embedded host with a little fault mix (1 % of
# answers lost, 2 % too late), ending in the report.
run: build
	./$(BIN) demo
	@echo
	./$(BIN) simulate --tps 300 --duration 5s --timeout 500ms --seed 7 \
	    --fault 'drop:mti=0210,p=0.01' --fault 'delay:mti=0210,p=0.02,delay=800ms'

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 240s $(PKGS)

# staticcheck, pinned (the module proxy serves exact versions): CI runs it
# after the tests.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.6.1
lint:
	$(GO) run $(STATICCHECK) ./...

# The side-by-side table (possim vs iso8583-connection, codec ceiling, rate
# accuracy, terminal counts, pacer send lag, links, a 60 s tail at 50 %):
# about 4 minutes on 2
# cores. Then the idle-link table: host RSS with 0/1 000/5 000/10 000 idle
# links, a purchase while they are held and during a flood of 2 000 bogus
# connections (about 1 minute).
bench:
	$(GO) run ./internal/bench/cmd/possim-bench
	$(GO) run ./internal/bench/cmd/possim-idle
	$(GO) run ./internal/bench/cmd/possim-bench --only per-tx

# One connection per transaction (simulate --connection per-tx) at 1 000,
# 3 000 and 4 000 tx/s: new connections per second (~20 s).
bench-pertx:
	$(GO) run ./internal/bench/cmd/possim-bench --only per-tx

# One section of the table at a time: the pacer's send lag (precise sleep vs
# Go timers at 100/1000/5000 tx/s, ~40 s), the cost of a link (2..5000
# links at 5000 tx/s, a process each, ~1 min), the tail over 60 s at 50 %
# of saturation under three GC settings (~3.5 min).
bench-pacer:
	$(GO) run ./internal/bench/cmd/possim-bench --only pacer
bench-links:
	$(GO) run ./internal/bench/cmd/possim-bench --only links
bench-tail:
	$(GO) run ./internal/bench/cmd/possim-bench --only tail --long 60s

# RSS over a 10-minute run (not in CI).
bench-long:
	$(GO) run ./internal/bench/cmd/possim-bench --long 10m

# Go micro-benchmarks: codec per dialect, MAC, recorder, rules, link.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./internal/... ./host/... ./terminal/...

# Fuzz every parser of bytes from the network for a short while each.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzUnpack -fuzztime $(FUZZTIME) ./internal/iso/
	$(GO) test -run '^$$' -fuzz FuzzLengthHeader -fuzztime $(FUZZTIME) ./internal/iso/
	$(GO) test -run '^$$' -fuzz FuzzReadFrames -fuzztime $(FUZZTIME) ./internal/link/
	$(GO) test -run '^$$' -fuzz FuzzCodecDecode -fuzztime $(FUZZTIME) ./internal/mac/
	$(GO) test -run '^$$' -fuzz FuzzCompute -fuzztime $(FUZZTIME) ./internal/mac/
	$(GO) test -run '^$$' -fuzz FuzzParseField90 -fuzztime $(FUZZTIME) ./host/
	$(GO) test -run '^$$' -fuzz FuzzParseRules -fuzztime $(FUZZTIME) ./host/
	$(GO) test -run '^$$' -fuzz FuzzHostLink -fuzztime $(FUZZTIME) ./host/
	$(GO) test -run '^$$' -fuzz FuzzParseSpec -fuzztime $(FUZZTIME) ./internal/fault/
	$(GO) test -run '^$$' -fuzz FuzzParseJSON -fuzztime $(FUZZTIME) ./internal/fault/
	$(GO) test -run '^$$' -fuzz FuzzCapture -fuzztime $(FUZZTIME) ./internal/diagnose/
	$(GO) test -run '^$$' -fuzz FuzzTrace -fuzztime $(FUZZTIME) ./internal/diagnose/

clean:
	rm -rf bin
