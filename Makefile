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

.PHONY: build test test-short bench bench-large peers notebooks notebooks-deps lint demo fuzz clean report-check

REPORT   := demo/work/lists/as-of=$(DEMO_AS_OF)/report.html
SECTIONS := "Risk tiers" "Distribution" "Segments (RFM)" "Loyalty KPIs" "Movers" "Campaign sizing" "RFM heatmap" \
	"Top reasons among customers at risk" "CLV deciles" "Segments × loyalty tiers" "Top of the list" "Churn model" \
	"CLV model" "Gains" "Calibration" "Data quality"

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/churn

test:
	$(GO) test -timeout 20m $(PKGS)
	cd deploy/validate && $(GO) test -count=1 ./...

test-short:
	$(GO) test -short $(PKGS)

# bench runs the Go benchmarks and the end-to-end timing of churn run on a
# generated shop of a million customers (internal/e2ebench, docs/E2E.md:
# the median and range of three runs, then one under --memory-limit),
# and writes docs/BENCHMARKS.md from both. bench-large times ten million
# customers (docs/E2E-10M.md; about 10 GB of CSV, not run in CI), once as is
# and once under --memory-limit 6GiB (issue 8's memory goal at 10M).
bench: build
	@mkdir -p bin
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS) | tee bin/bench.txt
	$(GO) run ./internal/e2ebench -customers 1000000 -bin $(BIN) -out docs/E2E.md
	$(GO) run ./internal/benchtable < bin/bench.txt > docs/BENCHMARKS.md
	@echo "wrote docs/BENCHMARKS.md"

bench-large: build
	$(GO) run ./internal/e2ebench -customers 10000000 -bin $(BIN) -out docs/E2E-10M.md -memory-limit 6GiB -runs 1 -lean ""

# peers compares our churn models with scikit-learn's HistGradientBoosting on
# the same features (docs/PEERS.md, copied into docs/BENCHMARKS.md by bench);
# Debian's python3-sklearn is installed with apt-get when missing.
peers:
	@/usr/bin/python3 -c "import sklearn" 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-sklearn >/dev/null)
	$(GO) run ./internal/peers -shared ../shared/data -out docs/PEERS.md

# notebooks runs every notebook of notebooks/ top to bottom, headless, in the
# GoNB kernel, and fails on any error. Jupyter comes from Debian's packages
# (apt-get when missing); GoNB and goimports are built from the versions
# pinned in notebooks/tools/go.mod. Executed copies go to bin/notebooks/out;
# the committed notebooks stay without outputs (a test checks it).
NB_BIN := $(CURDIR)/bin/nbtools
notebooks-deps:
	@command -v jupyter-nbconvert >/dev/null || (apt-get update -qq && \
		apt-get install -y -qq jupyter-notebook jupyter-nbconvert python3-nbconvert python3-ipykernel >/dev/null)
	cd notebooks/tools && $(GO) build -o $(NB_BIN)/ github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports
	PATH="$(NB_BIN):$$PATH" $(NB_BIN)/gonb --install --force_deps >/dev/null 2>&1

notebooks: notebooks-deps
	@mkdir -p bin/notebooks/out
	@for nb in notebooks/*.ipynb; do \
		echo "running $$nb"; \
		PATH="$(NB_BIN):$$PATH" jupyter nbconvert --to notebook --execute "$$nb" --output-dir bin/notebooks/out \
			--ExecutePreprocessor.timeout=1200 --log-level=WARN 2>bin/notebooks/out/kernel.log || \
			{ tail -40 bin/notebooks/out/kernel.log; exit 1; }; \
	done
	@echo "every notebook ran; executed copies in bin/notebooks/out"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	cd deploy/validate && $(GO) vet ./...
	$(GO) tool staticcheck $(PKGS)
	$(GO) test -count=1 ./internal/layering

demo: build
	rm -rf demo
	$(BIN) generate --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --out demo/data
	$(BIN) run --workdir demo/work --as-of $(DEMO_AS_OF) --transactions demo/data/transactions.csv \
		--customers demo/data/customers.csv --feedback demo/data/feedback.csv
	@echo
	@echo "open demo/work/lists/as-of=$(DEMO_AS_OF)/report.html in a browser"

# report-check renders the demo's report in headless Chromium (installed with
# apt-get when missing), fails if the page is cut short, a chart failed or a
# section is missing, and saves the first screen as docs/report.png.
report-check:
	@test -f "$(REPORT)" || $(MAKE) demo
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@mkdir -p bin
	chromium --headless=new --no-sandbox --disable-gpu --dump-dom "file://$(CURDIR)/$(REPORT)" > bin/report-dom.html 2>/dev/null
	@grep -q "</html>" bin/report-dom.html || (echo "report: the page is cut short"; exit 1)
	@! grep -q "chart unavailable" bin/report-dom.html || (echo "report: a chart failed"; exit 1)
	@for s in $(SECTIONS); do grep -q "<h2[^>]*>$$s" bin/report-dom.html || { echo "report: no section $$s"; exit 1; }; done
	@test $$(grep -o "<svg" bin/report-dom.html | wc -l) -ge 6 || (echo "report: charts missing"; exit 1)
	chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2400 \
		--screenshot="$(CURDIR)/docs/report.png" "file://$(CURDIR)/$(REPORT)" >/dev/null 2>&1
	@echo "report renders; screenshot in docs/report.png"

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseAmount$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzParseTime$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadTransactions$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzParseColumnMap$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadCDNOW$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadSummary$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzParallelRead$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzFastPaths$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzSpillDecode$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzSplitFields$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzTrimSpace$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadTables$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadParquetInput$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzReadInputFile$$' -fuzztime $(FUZZTIME) ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzParallelWarehouse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./datasets
	$(GO) test -run '^$$' -fuzz '^FuzzParseActionRules$$' -fuzztime $(FUZZTIME) ./pipeline
	$(GO) test -run '^$$' -fuzz '^FuzzParseDays$$' -fuzztime $(FUZZTIME) ./cmd/churn
	$(GO) test -run '^$$' -fuzz '^FuzzParseBytes$$' -fuzztime $(FUZZTIME) ./cmd/churn
	$(GO) test -run '^$$' -fuzz '^FuzzConfigFile$$' -fuzztime $(FUZZTIME) ./cmd/churn
	$(GO) test -run '^$$' -fuzz '^FuzzParseTiers$$' -fuzztime $(FUZZTIME) ./features
	$(GO) test -run '^$$' -fuzz '^FuzzParseWeights$$' -fuzztime $(FUZZTIME) ./cmd/churn
	$(GO) test -run '^$$' -fuzz '^FuzzParseShard$$' -fuzztime $(FUZZTIME) ./pipeline

clean:
	rm -rf bin demo
