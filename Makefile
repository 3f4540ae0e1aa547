GO      ?= go
BIN     := bin/possim
PKGS    := ./...

.PHONY: build run test bench fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/possim

# The demo: an embedded host and a terminal, a readable transcript.
run: build
	./$(BIN) demo

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 240s $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./internal/... ./host/... ./terminal/...

# Fuzz every parser of bytes from the network for a short while each.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzUnpack -fuzztime $(FUZZTIME) ./internal/iso/
	$(GO) test -run '^$$' -fuzz FuzzLengthHeader -fuzztime $(FUZZTIME) ./internal/iso/
	$(GO) test -run '^$$' -fuzz FuzzReadFrames -fuzztime $(FUZZTIME) ./internal/link/

clean:
	rm -rf bin
