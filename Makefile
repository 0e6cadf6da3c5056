# jobscope: build, tests against a real one-host Slurm, lint, benchmarks, demo.
# `make test` is the project's test command (CI runs it through .ci/run, as root).
# The Slurm targets need root and Debian 12 (they apt-get install what is missing): run by
# a user, they run themselves again through sudo (AS_ROOT below); see docs/testing.md.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
BIN       ?= bin/jobscope
# jobscope-node: `jobscope node` alone (-tags jobscope_nodeonly), for the agent on every GPU
# node, which then maps none of the slurm and report commands' code (docs/deploy.md). Beside
# BIN unless set.
NODE_BIN  ?= $(dir $(BIN))jobscope-node
# What --version, the landing page and jobscope_build_info say, from git (lazy: only
# `build` evaluates them). Outside a git checkout they are empty and the binary falls back
# to the build information Go stamped into it (cmd/jobscope/version.go), else "unknown".
# GIT_OPTIONAL_LOCKS=0: git describe --dirty refreshes the index otherwise, and run as root
# through AS_ROOT it would leave a root-owned .git/index in the caller's checkout.
VERSION    = $(shell GIT_OPTIONAL_LOCKS=0 git describe --tags --always --dirty 2>/dev/null)
REVISION   = $(shell GIT_OPTIONAL_LOCKS=0 git rev-parse HEAD 2>/dev/null)
BRANCH     = $(shell GIT_OPTIONAL_LOCKS=0 git rev-parse --abbrev-ref HEAD 2>/dev/null)
BUILD_USER = $(shell echo "$${SUDO_USER:-$${USER:-$$(id -un)}}@$$(hostname 2>/dev/null || echo unknown)")
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
# caller's Go (PATH, with the sbin directories added: a user's PATH on Debian lacks them, and
# root's tools live there: runuser, dpkg's ldconfig), module cache (GOMODCACHE, filled first
# as the caller, so that root only reads it), proxy, flags and toolchain, and the command
# line's variables; sudo -H gives root its own HOME and so its own build cache, and no
# root-owned file lands in the caller's caches. Without root and without sudo it says so and
# fails. Run through sudo, root gives back what it created in the checkout (GIVE_BACK) when the
# shell that runs the recipe exits.
AS_ROOT = if [ "$$(id -u)" != 0 ]; then \
	  command -v sudo >/dev/null || { echo "make $@: needs root: run it as root, or install sudo (apt-get install sudo) and run it as a user allowed to use it" >&2; exit 1; }; \
	  $(GO) mod download; \
	  echo "make $@: not root; running it again through sudo" >&2; \
	  exec sudo -H env "PATH=$$PATH:/usr/local/sbin:/usr/sbin:/sbin" "GOMODCACHE=$$($(GO) env GOMODCACHE)" "GOPROXY=$$($(GO) env GOPROXY)" \
	    "GOFLAGS=$$($(GO) env GOFLAGS)" "GOTOOLCHAIN=$$($(GO) env GOTOOLCHAIN)" \
	    $(MAKE) --no-print-directory $@ $(MAKEOVERRIDES); \
	fi; \
	trap '$(GIVE_BACK)' EXIT

# GIVE_BACK hands every root-owned file in the checkout (bin/, test/.run/, ...) to the user
# sudo ran for (SUDO_UID), so that their own `make build` or `git` keeps working after a
# `make demo` or `make test` as a user with sudo. Only when that user owns the checkout.
GIVE_BACK = if [ "$$(id -u)" = 0 ] && [ -n "$${SUDO_UID:-}" ] && [ "$$(stat -c %u .)" = "$$SUDO_UID" ]; then \
	  find . -user 0 -print0 | xargs -0 -r chown -h "$$SUDO_UID:$${SUDO_GID:-$$SUDO_UID}"; \
	fi

.PHONY: image image-required chart-sync helm
.PHONY: build deps tools test test-unit test-e2e slurm-up slurm-workload slurm-down slurm-logs lint generate \
        check-generated bench fuzz demo demo-run clean

# Both binaries from one LDFLAGS (one git describe, one build date). -trimpath: no build
# host paths in the binaries (reproducible builds, shorter file names in the line tables).
build:
	ldflags='$(LDFLAGS)'; \
	$(GO) build -trimpath -ldflags "$$ldflags" -o $(BIN) ./cmd/jobscope; \
	$(GO) build -trimpath -tags jobscope_nodeonly -ldflags "$$ldflags" -o $(NODE_BIN) ./cmd/jobscope

# Unit tests, then a real cluster + workload, the end-to-end tests, the README's `make demo`
# as written on the same cluster (JOBSCOPE_DEMO_EXIT=1: it exits once it has shown a joined
# job, and fails if none joins), and the teardown, which runs whatever happened (also on
# Ctrl-C). Fails if any of them failed. When the cluster, the e2e tests or the demo fail, the
# Slurm logs are saved under test/.run/slurm-logs (the teardown removes them from the
# cluster's directory); the demo's own logs stay in test/.run/demo. The last line sums up.
test:
	@$(AS_ROOT); \
	rc=0; unit=ok; e2e=ok; demo=ok; \
	$(MAKE) --no-print-directory deps; \
	$(MAKE) --no-print-directory test-unit || { rc=1; unit=FAIL; }; \
	trap '$(MAKE) --no-print-directory slurm-down; $(GIVE_BACK); echo "== make test: unit tests $$unit, e2e tests $$e2e, make demo $$demo"' EXIT; \
	trap 'exit 130' INT TERM; \
	if $(MAKE) --no-print-directory slurm-up slurm-workload; then \
	  $(MAKE) --no-print-directory test-e2e || { rc=1; e2e=FAIL; $(MAKE) --no-print-directory slurm-logs; }; \
	  t0=$$(date +%s); \
	  JOBSCOPE_DEMO_EXIT=1 $(MAKE) --no-print-directory demo || { rc=1; demo=FAIL; $(MAKE) --no-print-directory slurm-logs; }; \
	  demo="$$demo ($$(( $$(date +%s) - t0 ))s)"; \
	else rc=1; e2e="not run (the cluster did not come up)"; demo="not run"; $(MAKE) --no-print-directory slurm-logs; fi; \
	exit $$rc

test-unit:
	$(GO) test $(RACE) ./...

# Needs the cluster (make slurm-up slurm-workload); -count=1: it tests the live cluster, not the cache.
test-e2e:
	@test -s $(SLURM_ENV) || { echo "no $(SLURM_ENV): run make slurm-up slurm-workload first" >&2; exit 1; }
	source $(SLURM_ENV) && JOBSCOPE_E2E=1 $(GO) test -count=1 -v -timeout 10m ./test/e2e/

# Debian packages the tests use (Slurm, MariaDB, promtool, node_exporter), installed when
# missing, and the Go-built tools the tests run: helm (the chart's tests), VictoriaMetrics and
# vmalert (the scale-out tests). The Go tools are built as the caller, before AS_ROOT, so they
# land in the caller's GOPATH.
deps: helm tools
	@$(AS_ROOT); test/slurmlocal/up.sh --install-only

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

# Helm v4 for the chart's tests (test/deploy), built with go install into $(go env GOPATH)/bin
# unless a helm is on PATH or already there: the build takes 1.5-5 minutes, so CI should keep
# that directory (and the module cache) between runs.
HELM_VERSION ?= v4.3.2
helm:
	@if command -v helm >/dev/null; then echo "helm: $$(command -v helm)"; \
	elif [ -x "$$($(GO) env GOPATH)/bin/helm" ]; then echo "helm: $$($(GO) env GOPATH)/bin/helm"; \
	else echo "go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION) (takes minutes)"; \
	  $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION); fi

# The chart ships copies of alerts/*.yml and dashboards/json/*.json (Helm reads files only
# inside the chart); test/deploy fails while they differ from the sources. Run after changing
# either.
CHART_FILES := deploy/helm/jobscope/files
chart-sync:
	rm -f $(CHART_FILES)/alerts/*.yml $(CHART_FILES)/dashboards/*.json
	@mkdir -p $(CHART_FILES)/alerts $(CHART_FILES)/dashboards
	@for f in alerts/*.yml; do [ -e "$$f" ] || continue; cp "$$f" $(CHART_FILES)/alerts/ && echo "$$f -> $(CHART_FILES)/alerts/"; done
	@for f in dashboards/json/*.json; do [ -e "$$f" ] || continue; cp "$$f" $(CHART_FILES)/dashboards/ && echo "$$f -> $(CHART_FILES)/dashboards/"; done

# The image (Dockerfile) with docker or podman. Where neither engine runs (a client without a
# daemon counts as none) it says so and succeeds; `make image-required` fails instead.
# test/deploy checks the binary's linking without an engine.
IMAGE ?= jobscope:$(or $(VERSION),dev)
CONTAINER_ENGINE ?= $(shell for e in docker podman; do command -v $$e >/dev/null && $$e info >/dev/null 2>&1 && { echo $$e; break; }; done)
IMAGE_REQUIRED ?=
image:
	@if [ -z "$(CONTAINER_ENGINE)" ]; then \
	  echo "make image: no container engine (docker or podman with a running daemon): image not built" >&2; \
	  if [ -n "$(IMAGE_REQUIRED)" ]; then exit 1; fi; exit 0; fi; \
	$(CONTAINER_ENGINE) build -t $(IMAGE) --build-arg VERSION=$(VERSION) \
	  --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) . && \
	echo "make image: built $(IMAGE) with $(CONTAINER_ENGINE)"

image-required:
	@$(MAKE) --no-print-directory image IMAGE_REQUIRED=1

# GO: up.sh runs test/slurmlocal/fakegpus (the simulated GPUs' UUIDs for the prolog).
slurm-up:
	@$(AS_ROOT); GO=$(GO) test/slurmlocal/up.sh

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
	promtool check rules --lint=all --lint-fatal alerts/*.yml

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
	@failed=; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  dir=$$(dirname "$$f"); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
	    for try in 1 2; do \
	      echo "== $$dir $$t"; \
	      before=$$({ ls "$$dir/testdata/fuzz/$$t" 2>/dev/null || true; } | wc -l); \
	      if $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) "./$$dir" 2>&1 | tee "$$log"; then break; fi; \
	      after=$$({ ls "$$dir/testdata/fuzz/$$t" 2>/dev/null || true; } | wc -l); \
	      if [ $$try = 1 ] && [ "$$after" = "$$before" ] && grep -q '^    context deadline exceeded$$' "$$log"; then \
	        echo "== $$dir $$t: no failing input written, only Go's end-of-fuzztime race (golang/go#75804, fixed in Go 1.27): once more"; \
	        continue; \
	      fi; \
	      failed="$$failed $$dir:$$t"; break; \
	    done; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "== make fuzz: FAILED:$$failed" >&2; exit 1; fi; \
	echo "== make fuzz: every target ran $(FUZZTIME) clean"

# The local cluster with its workload, one jobscope node agent per Slurm node, jobscope slurm and
# a real Prometheus, in the foreground (test/slurmlocal/demo.sh; Ctrl-C stops them, the cluster
# keeps running until `make slurm-down`). Prints a running job next to its GPUs.
# JOBSCOPE_DEMO_EXIT=1 makes it exit then (0) or fail when no job joins (`make test` runs it so). The cluster
# needs root, so demo becomes root before its steps (prerequisites would run before AS_ROOT
# could).
demo:
	@$(AS_ROOT); $(MAKE) --no-print-directory slurm-up slurm-workload build demo-run

demo-run:
	test/slurmlocal/demo.sh

clean:
	rm -rf bin
