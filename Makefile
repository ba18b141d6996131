# Developer and CI entry points. `make test` is the full test command: it
# starts throwaway test servers (Redis, Dovecot, Radicale, SMTP sink),
# runs all tests against them and fuzzes briefly; see deploy/testenv/.

# Go lives here on the CI machines even when a login shell has not set PATH.
export PATH := $(PATH):/usr/local/go/bin

TESTENV_DIR := .testenv

.PHONY: all test build run vet fmt-check testenv-up testenv-down

all: build

## test: all tests against real servers, plus a short fuzz run per target
##       (GOTESTFLAGS="-run X -v", TEST_PKGS=./bridge/..., FUZZTIME=30s)
test:
	deploy/testenv/run-tests.sh

## build: the idlebridge binary
build:
	go build -o idlebridge ./cmd/idlebridge

## run: serve with the example configuration
run:
	go run ./cmd/idlebridge serve --config deploy/idlebridge.example.yaml

vet:
	go vet ./...

## fmt-check: fail when a file is not gofmt-formatted
fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

## testenv-up: start the test servers for interactive work, then
##   source .testenv/env && go test ./bridge/...
testenv-up:
	deploy/testenv/start.sh $(TESTENV_DIR)
	@echo "now: source $(TESTENV_DIR)/env"

## testenv-down: stop them (safe to repeat)
testenv-down:
	deploy/testenv/stop.sh $(TESTENV_DIR)
