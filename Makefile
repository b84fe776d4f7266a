# jabberdesk — build, check and test.
SHELL       := bash
GO          ?= go
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
STATICCHECK_VERSION = v0.8.2
ERRCHECK    ?= $(shell $(GO) env GOPATH)/bin/errcheck
ERRCHECK_VERSION = v1.30.0

.PHONY: all build check test test-race fuzz tools

all: check test

build:
	$(GO) build -buildvcs=auto -o bin/jabberdesk ./cmd/jabberdesk

## check: formatting, go.mod and go.sum tidy, go vet, staticcheck and errcheck
## (no ignored error outside tests: where one does not matter, `_ =` and a
## comment say why; tests are left out, as they drop the errors of their own
## clean-up by the hundred and a failure there shows as a failed test)
check: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(ERRCHECK) -ignoretests ./...

## test: every test, interop tests included (they need Debian's go-sendxmpp,
## python3-slixmpp and chromium; see .ci/run); skipped tests are listed at the end.
## With JABBERDESK_TEST_POSTGRES set to a PostgreSQL server's URL (.ci/run starts
## one), the store's tests run a second time on PostgreSQL, and the tests of
## several nodes run; without it the summary lists them as skipped.
test:
	set -o pipefail; { $(GO) test -count=1 -json ./... ; $(call on-postgres); } | $(GO) run ./internal/testsummary

## test-race: the tests under the race detector
test-race:
	set -o pipefail; { $(GO) test -count=1 -race -json ./... ; $(call on-postgres,-race); } | $(GO) run ./internal/testsummary

# on-postgres runs, when a PostgreSQL server is configured, the store's tests
# on PostgreSQL and the end-to-end tests on three nodes (PostgreSQL, an
# embedded NATS server, balancers in front).
on-postgres = if [ -n "$$JABBERDESK_TEST_POSTGRES" ]; then \
	JABBERDESK_TEST_STORE=postgres $(GO) test -count=1 $(1) -json ./store; \
	JABBERDESK_TEST_NODES=3 $(GO) test -count=1 $(1) -json ./cmd/jabberdesk; fi

## fuzz: run each fuzz target for FUZZTIME (their seed corpora run with make test)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./address
	$(GO) test -run '^$$' -fuzz FuzzVisitorAPI -fuzztime $(FUZZTIME) ./bridge/web
	$(GO) test -run '^$$' -fuzz FuzzSessionStream -fuzztime $(FUZZTIME) ./xmppd
	for f in FuzzTelegramUpdate FuzzWhatsAppWebhook FuzzLINEWebhook FuzzMessengerWebhook FuzzInstagramWebhook; do \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./channels || exit 1; done

tools:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(ERRCHECK) || $(GO) install github.com/kisielk/errcheck@$(ERRCHECK_VERSION)
