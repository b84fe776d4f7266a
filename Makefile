# jabberdesk — build, check and test.
SHELL       := bash
GO          ?= go
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
STATICCHECK_VERSION = v0.8.2

.PHONY: all build check test test-race fuzz tools

all: check test

build:
	$(GO) build -buildvcs=auto -o bin/jabberdesk ./cmd/jabberdesk

## check: formatting, go vet and staticcheck
check: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## test: every test, interop tests included (they need Debian's go-sendxmpp,
## python3-slixmpp and chromium; see .ci/run); skipped tests are listed at the end
test:
	set -o pipefail; $(GO) test -count=1 -json ./... | $(GO) run ./internal/testsummary

## test-race: the tests under the race detector
test-race:
	set -o pipefail; $(GO) test -count=1 -race -json ./... | $(GO) run ./internal/testsummary

## fuzz: run each fuzz target for FUZZTIME (their seed corpora run with make test)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzVisitorAPI -fuzztime $(FUZZTIME) ./bridge/web
	$(GO) test -run '^$$' -fuzz FuzzSessionStream -fuzztime $(FUZZTIME) ./xmppd

tools:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
