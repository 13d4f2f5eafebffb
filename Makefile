# churn — see README.md. Every target installs what it needs through the Go
# module proxy (tools are pinned with `tool` directives in go.mod).
GO      ?= go
BIN     := bin/churn
PKGS    := ./...
export CGO_ENABLED ?= 0

DEMO_CUSTOMERS ?= 100000
DEMO_SEED      ?= 42
DEMO_AS_OF     ?= 2025-12-31
FUZZTIME       ?= 20s

.PHONY: build test test-short bench lint demo fuzz clean

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/churn

test:
	$(GO) test -timeout 20m $(PKGS)

test-short:
	$(GO) test -short $(PKGS)

bench:
	@mkdir -p bin
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS) | tee bin/bench.txt
	$(GO) run ./internal/benchtable < bin/bench.txt > docs/BENCHMARKS.md
	@echo "wrote docs/BENCHMARKS.md"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) test -count=1 ./internal/layering

demo: build
	rm -rf demo
	$(BIN) generate --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --out demo/data
	$(BIN) run --workdir demo/work --as-of $(DEMO_AS_OF) --transactions demo/data/transactions.csv \
		--customers demo/data/customers.csv --feedback demo/data/feedback.csv
	@echo
	@echo "open demo/work/lists/as-of=$(DEMO_AS_OF)/report.html in a browser"

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseAmount$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzParseTime$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadTransactions$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzParseColumnMap$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadCDNOW$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadSummary$$' -fuzztime $(FUZZTIME) ./datasets

clean:
	rm -rf bin demo
