# jobscope: build, tests against a real one-host Slurm, lint, benchmarks, demo.
# `make test` is the project's test command (CI runs it through .ci/run, as root).
# The Slurm targets need root and Debian 12 (they apt-get install what is missing): run by
# a user, they run themselves again through sudo (AS_ROOT below); see docs/testing.md.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
BIN       ?= bin/jobscope
# What --version, the landing page and jobscope_build_info say, from git (lazy: only
# `build` evaluates them). Outside a git checkout they are empty and the binary falls back
# to the build information Go stamped into it (cmd/jobscope/version.go), else "unknown".
VERSION    = $(shell git describe --tags --always --dirty 2>/dev/null)
REVISION   = $(shell git rev-parse HEAD 2>/dev/null)
BRANCH     = $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
BUILD_USER = $(shell echo "$${USER:-$$(id -un)}@$$(hostname 2>/dev/null || echo unknown)")
BUILD_DATE = $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS    = -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
             -X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildUser=$(BUILD_USER) \
             -X $(VERSION_PKG).BuildDate=$(BUILD_DATE)
# -race needs cgo; set RACE= to skip it
RACE      ?= -race
BENCHTIME ?= 500ms
FUZZTIME  ?= 60s
# How long the fuzzer may minimise each new interesting input. Go's default (60 s) lets a
# target seeded with a whole page spend its FUZZTIME minimising instead of fuzzing.
FUZZMINIMIZETIME ?= 2s
DEMO_ADDR ?= 127.0.0.1:9850
DEMO_NODE_ADDR ?= 127.0.0.1:9851
DEMO_NODE_FAMILIES := ^jobscope_(gpu_(backend_up|info|utilization_ratio|power_watts|memory_used_bytes|tenant_info)|job_(gpus|gpu_energy_joules_total))[{ ]
DEMO_FAMILIES := ^jobscope_slurm_(up|nodes|node_state|node_state_flag|node_reason_info|node_gpus|node_gpus_allocated|jobs|jobs_pending|job_info|job_gpu_allocated|fairshare_factor)[{ ]

# go-nvml's headers warn about deprecated declarations
export CGO_CFLAGS := -Wno-deprecated-declarations

# the local cluster (test/slurmlocal/common.sh has the other knobs: ports)
export SLURMLOCAL_BASE ?= /srv/jobscope-slurm
SLURM_ENV := $(SLURMLOCAL_BASE)/env.sh

# jobscope's own golden /metrics outputs, checked by promtool in `lint`: *.prom under a
# testdata/ with "golden" in the path, and the binary's under cmd/*/testdata/. Other *.prom
# (e.g. gpu/dcgm/testdata) are recorded third-party inputs, linted by nobody.
GOLDEN = $(shell find . -path ./.git -prune -o -type f -name '*.prom' \( -path '*/testdata/*golden*' -o -path './cmd/*/testdata/*' \) -print | sort)

# AS_ROOT starts a recipe that needs root (apt-get, the cluster under /srv, munge). As root
# it does nothing; otherwise it runs the same target again through sudo, keeping the
# caller's Go (PATH), module cache (GOMODCACHE, filled first as the caller, so that root
# only reads it), proxy, flags and toolchain, and the command line's variables; sudo -H gives
# root its own HOME and so its own build cache, and no root-owned file lands in the caller's
# caches. Without root and without sudo it says so and fails.
AS_ROOT = if [ "$$(id -u)" != 0 ]; then \
	  command -v sudo >/dev/null || { echo "make $@: needs root: run it as root, or install sudo (apt-get install sudo) and run it as a user allowed to use it" >&2; exit 1; }; \
	  $(GO) mod download; \
	  echo "make $@: not root; running it again through sudo" >&2; \
	  exec sudo -H env "PATH=$$PATH" "GOMODCACHE=$$($(GO) env GOMODCACHE)" "GOPROXY=$$($(GO) env GOPROXY)" \
	    "GOFLAGS=$$($(GO) env GOFLAGS)" "GOTOOLCHAIN=$$($(GO) env GOTOOLCHAIN)" \
	    $(MAKE) --no-print-directory $@ $(MAKEOVERRIDES); \
	fi

.PHONY: build deps tools test test-unit test-e2e slurm-up slurm-workload slurm-down slurm-logs lint generate \
        check-generated bench fuzz demo demo-run clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/jobscope

# Unit tests, then a real cluster + workload, the end-to-end tests, and the teardown, which
# runs whatever happened (also on Ctrl-C). Fails if any of them failed. When the cluster or
# the e2e tests fail, the Slurm logs are saved under test/.run/slurm-logs (the teardown
# removes them from the cluster's directory). The last line sums up.
test:
	@$(AS_ROOT); \
	rc=0; unit=ok; e2e=ok; \
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

# Debian packages the tests use (Slurm, MariaDB, promtool, node_exporter), installed when missing,
# and the Go-built tools (below).
deps:
	@$(AS_ROOT); test/slurmlocal/up.sh --install-only; $(MAKE) --no-print-directory tools

# VictoriaMetrics single-node and vmalert (Apache-2.0) for the scale-out test (test/scaleout),
# built with go install into $(go env GOBIN) or $(go env GOPATH)/bin. A binary already there
# from the same module version is kept (go version -m reads the version Go stamped into it):
# building both takes minutes with cold caches (docs/scale-out.md).
VM_VERSION ?= v1.151.0
VM_MODULE  := github.com/VictoriaMetrics/VictoriaMetrics
tools:
	@bin=$$($(GO) env GOBIN); bin=$${bin:-$$($(GO) env GOPATH)/bin}; \
	for app in victoria-metrics vmalert; do \
	  if [ -x "$$bin/$$app" ] && $(GO) version -m "$$bin/$$app" | grep -P '^\tmod\t\Q$(VM_MODULE)\E\t\Q$(VM_VERSION)\E\t' >/dev/null; then \
	    echo "$$bin/$$app: $(VM_VERSION) present"; \
	  else \
	    echo "go install $(VM_MODULE)/app/$$app@$(VM_VERSION)"; \
	    $(GO) install $(VM_MODULE)/app/$$app@$(VM_VERSION); \
	  fi; \
	done

slurm-up:
	@$(AS_ROOT); test/slurmlocal/up.sh

slurm-workload:
	@$(AS_ROOT); test/slurmlocal/workload.sh

slurm-down:
	@$(AS_ROOT); test/slurmlocal/down.sh

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

# Each Fuzz target for FUZZTIME (go test fuzzes one target per run); all of them run, and
# the failing ones are listed at the end (the failing input is under the package's
# testdata/fuzz/). docs/testing.md has the inputs per second each target reaches.
fuzz:
	@failed=; \
	for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  dir=$$(dirname "$$f"); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
	    echo "== $$dir $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) "./$$dir" || \
	      failed="$$failed $$dir:$$t"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "== make fuzz: FAILED:$$failed" >&2; exit 1; fi; \
	echo "== make fuzz: every target ran $(FUZZTIME) clean"

# The local cluster with its workload, and jobscope on it in the foreground (Ctrl-C stops it;
# the cluster keeps running until `make slurm-down`). Once /metrics answers, a curl of it
# (the interesting families) is printed. The cluster needs root, so demo becomes root
# before its steps (prerequisites would run before AS_ROOT could).
demo:
	@$(AS_ROOT); $(MAKE) --no-print-directory slurm-up slurm-workload build demo-run

demo-run:
	@source $(SLURM_ENV); \
	$(BIN) node --gpu.backend=simulated --web.listen-address=$(DEMO_NODE_ADDR) \
	  --kubelet.pod-resources-socket= --no-collector.infiniband --log.level=warn & node=$$!; \
	trap 'kill $$node 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	( for i in $$(seq 1 100); do \
	    curl -sf http://$(DEMO_ADDR)/metrics | grep -q '^jobscope_slurm_up 1' && break; sleep 0.3; done; \
	  echo "\$$ curl -s http://$(DEMO_ADDR)/metrics | grep -E '$(DEMO_FAMILIES)'"; \
	  curl -s http://$(DEMO_ADDR)/metrics | \
	    grep -E '$(DEMO_FAMILIES)' || true; \
	  echo "\$$ curl -s http://$(DEMO_NODE_ADDR)/metrics | grep -E '$(DEMO_NODE_FAMILIES)'   # node agent, simulated GPUs"; \
	  curl -s http://$(DEMO_NODE_ADDR)/metrics | grep -E '$(DEMO_NODE_FAMILIES)' || true; \
	  echo "--- jobscope slurm on http://$(DEMO_ADDR)/metrics, jobscope node on http://$(DEMO_NODE_ADDR)/metrics; Ctrl-C stops both" ) & \
	$(BIN) slurm --web.listen-address=$(DEMO_ADDR) --slurm.source=rest \
	  --slurm.rest-url=$$JOBSCOPE_SLURMRESTD_URL --slurm.token-file=$$JOBSCOPE_SLURMRESTD_TOKEN_FILE \
	  --slurm.user=$$JOBSCOPE_SLURMRESTD_USER --slurm.poll-interval=5s

clean:
	rm -rf bin
