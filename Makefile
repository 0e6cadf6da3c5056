# jobscope: build, tests against a real one-host Slurm, lint, benchmarks, demo.
# `make test` is the project's test command (CI runs it through .ci/run, as root).
# The Slurm targets need root and Debian 12 (they apt-get install what is missing);
# see docs/testing.md.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
BIN       := bin/jobscope
# -race needs cgo; set RACE= to skip it
RACE      ?= -race
BENCHTIME ?= 500ms
FUZZTIME  ?= 10s

# go-nvml's headers warn about deprecated declarations
export CGO_CFLAGS := -Wno-deprecated-declarations

# the local cluster (test/slurmlocal/common.sh has the other knobs: ports)
export SLURMLOCAL_BASE ?= /srv/jobscope-slurm
SLURM_ENV := $(SLURMLOCAL_BASE)/env.sh

# jobscope's own golden /metrics outputs, checked by promtool in `lint`: *.prom under a
# testdata/ with "golden" in the path, and the binary's under cmd/*/testdata/. Other *.prom
# (e.g. gpu/dcgm/testdata) are recorded third-party inputs, linted by nobody.
GOLDEN = $(shell find . -path ./.git -prune -o -type f -name '*.prom' \( -path '*/testdata/*golden*' -o -path './cmd/*/testdata/*' \) -print | sort)

.PHONY: build deps test test-unit test-e2e slurm-up slurm-workload slurm-down slurm-logs lint generate \
        check-generated bench fuzz demo clean

build:
	$(GO) build -o $(BIN) ./cmd/jobscope

# Unit tests, then a real cluster + workload, the end-to-end tests, and the teardown, which
# runs whatever happened (also on Ctrl-C). Fails if any of them failed. When the cluster or
# the e2e tests fail, the Slurm logs are saved under test/.run/slurm-logs (the teardown
# removes them from the cluster's directory). The last line sums up.
test:
	@rc=0; unit=ok; e2e=ok; \
	$(MAKE) --no-print-directory deps; \
	$(MAKE) --no-print-directory test-unit || { rc=1; unit=FAIL; }; \
	trap '$(MAKE) --no-print-directory slurm-down; echo "== make test: unit tests $$unit, e2e tests $$e2e"' EXIT; \
	trap 'exit 130' INT TERM; \
	if $(MAKE) --no-print-directory slurm-up slurm-workload; then \
	  $(MAKE) --no-print-directory test-e2e || { rc=1; e2e=FAIL; $(MAKE) --no-print-directory slurm-logs; }; \
	else rc=1; e2e="not run (the cluster did not come up)"; $(MAKE) --no-print-directory slurm-logs; fi; \
	exit $$rc

test-unit:
	$(GO) test $(RACE) ./...

# Needs the cluster (make slurm-up slurm-workload); -count=1: it tests the live cluster, not the cache.
test-e2e:
	@test -s $(SLURM_ENV) || { echo "no $(SLURM_ENV): run make slurm-up slurm-workload first" >&2; exit 1; }
	source $(SLURM_ENV) && JOBSCOPE_E2E=1 $(GO) test -count=1 -v -timeout 10m ./test/e2e/

# Debian packages the tests use (Slurm, MariaDB, promtool, node_exporter), installed when missing.
deps:
	test/slurmlocal/up.sh --install-only

# GO: up.sh runs test/slurmlocal/fakegpus (the simulated GPUs' UUIDs for the prolog).
slurm-up:
	GO=$(GO) test/slurmlocal/up.sh

slurm-workload:
	test/slurmlocal/workload.sh

slurm-down:
	test/slurmlocal/down.sh

slurm-logs:
	@rm -rf test/.run/slurm-logs; mkdir -p test/.run; \
	cp -r $(SLURMLOCAL_BASE)/log test/.run/slurm-logs 2>/dev/null && \
	  echo "Slurm logs saved in test/.run/slurm-logs" || echo "no Slurm logs under $(SLURMLOCAL_BASE)/log"

lint:
	@out=$$(gofmt -l .); [ -z "$$out" ] || { echo "gofmt -l:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	@for f in $(GOLDEN); do echo "promtool check metrics $$f"; promtool check metrics < "$$f" || exit 1; done

generate:
	$(GO) generate ./...

check-generated: generate
	git diff --exit-code

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# Each Fuzz target for FUZZTIME (go test fuzzes one target per run).
fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
	  dir=$$(dirname "$$f"); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
	    echo "== $$dir $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) "./$$dir" || exit 1; \
	  done; \
	done

# The local cluster with its workload, one jobscope node agent per Slurm node, jobscope slurm and
# a real Prometheus, in the foreground (test/slurmlocal/demo.sh; Ctrl-C stops them, the cluster
# keeps running until `make slurm-down`). Prints a running job next to its GPUs.
demo: slurm-up slurm-workload build
	test/slurmlocal/demo.sh

clean:
	rm -rf bin
