# Switchyard: two commands on a fresh Debian machine with the .NET 10 SDK.
#   make run    build the Native AOT binary and run the demo
#   make test   install what the tests need (only what is missing), build, publish, run unit and native tests
SHELL := /bin/bash
.DEFAULT_GOAL := help

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

DOTNET       ?= dotnet
CONFIG       ?= Release
RID          ?= linux-x64
PUBLISH_DIR  := artifacts/switchyard
BIN          := $(PUBLISH_DIR)/switchyard
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Native AOT links with clang against zlib; the tests drive real peers (curl, openssl, nghttp/h2load; zsh and fish
# load the completion scripts of `switchyard completion`).
AOT_PACKAGES  := clang zlib1g-dev
# node and npm run js-yaml, the strict YAML 1.2 parser inject's output is checked with; Debian's packages only when
# `which` finds neither (a node from elsewhere, e.g. NodeSource's nodejs that bundles npm, is used as it is).
NODE_PACKAGES := $(shell which node npm >/dev/null 2>&1 || echo nodejs npm)
JS_YAML       := 4.3.2
TEST_PACKAGES := $(AOT_PACKAGES) curl openssl ca-certificates nghttp2-client procps zsh fish $(NODE_PACKAGES)
PERF_PACKAGES := nginx haproxy nghttp2-client bc python3
# Fuzzing: AFL++ drives the SharpFuzz targets of native-tests/fuzz (not part of `make test`).
FUZZ_PACKAGES := afl++

FUZZ_SECONDS    ?= 60
FUZZ_TIMEOUT_MS ?= 3000
FUZZ_TARGETS    ?= http1-request http1-response chunked http2-frames hpack config manifest
FUZZ_OUT        := artifacts/fuzz
FUZZ_BIN        := $(FUZZ_OUT)/bin

SOURCES := $(shell find src/Switchyard -name '*.cs' -not -path '*/obj/*' -not -path '*/bin/*') \
           src/Switchyard/Switchyard.csproj Directory.Build.props Directory.Packages.props

.PHONY: help run test image k8s-examples deps-aot deps-test deps-docker deps-fuzz publish build unit-test native-test fuzz perf perf-h1 perf-h2 bench soak slowhttp clean

# make soak: how long the mixed load runs (seconds); the whole target takes about SOAK_SECONDS + 2 min.
SOAK_SECONDS ?= 60
# make slowhttp: connections and seconds per slowhttptest mode (the script reads them from the environment).
SLOW_CONNECTIONS ?= 500
SLOW_SECONDS ?= 45

help:
	@echo "make run    build the AOT binary and run 'switchyard demo'"
	@echo "make test   install missing tools, build, publish, run unit and native tests"
	@echo "make perf   side-by-side load comparison with nginx and HAProxy (perf/RESULTS.md)"
	@echo "make perf-h1  HTTP/1.1 with an x-dev intercept routed by all three proxies: CPU per request, p50/p99"
	@echo "make perf-h2  the same over HTTP/2 (h2load -n 200000 -c 16 -m 8)"
	@echo "make soak [SOAK_SECONDS=60]  mixed HTTP/1.1+HTTP/2 over TLS through app, intercept and wiretap routes, XxHash128 of"
	@echo "             every body, config rewrite + certificate rotation mid-run; fails on errors, altered bytes or leaked fds"
	@echo "make fuzz   afl-fuzz each parser for FUZZ_SECONDS (default $(FUZZ_SECONDS)) s, one at a time (native-tests/fuzz/README.md)"
	@echo "make slowhttp [SLOW_CONNECTIONS=500 SLOW_SECONDS=45]  slowhttptest slowloris, slow body, slow read over TLS and plain"
	@echo "             HTTP/1.1; fails unless fds and active connections get back to baseline within the limits"
	@echo "make image  build the sidecar image switchyard:dev from the AOT binary, pulling nothing (containers/build-image.sh)"
	@echo "make k8s-examples  regenerate containers/k8s/echo.config.json and echo.injected.yaml from echo.yaml"

# Installs only the Debian packages that are not installed yet; apt index refreshed only when needed.
define apt_install
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt="$(SUDO) apt-get -o DPkg::Lock::Timeout=600"; \
	  $$apt install -y -qq $$missing >/dev/null || { $$apt update -qq && $$apt install -y -qq $$missing >/dev/null; }; \
	fi
endef

deps-aot:
	$(call apt_install,$(AOT_PACKAGES))

deps-test:
	$(call apt_install,$(TEST_PACKAGES))
	@[ -f artifacts/node/node_modules/js-yaml/package.json ] && grep -q '"version": "$(JS_YAML)"' artifacts/node/node_modules/js-yaml/package.json || \
	  npm install --prefix artifacts/node --no-audit --no-fund --no-save --loglevel=error js-yaml@$(JS_YAML)

deps-fuzz:
	$(call apt_install,$(FUZZ_PACKAGES))

# A container engine for `make image` and native-tests/Containers: Debian's docker.io, and dockerd started when no
# engine answers (no systemd here: in the background, logging to /var/log/dockerd.log, waited for at most 30 s).
deps-docker:
	$(call apt_install,docker.io)
	@if ! docker info >/dev/null 2>&1; then \
	  echo "starting dockerd (log: /var/log/dockerd.log)"; \
	  $(SUDO) sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'; \
	  for i in $$(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not answer within 30 s; see /var/log/dockerd.log" >&2; tail -n 20 /var/log/dockerd.log >&2; exit 1; }; \
	fi

$(BIN): $(SOURCES)
	@echo "building the Native AOT binary $(BIN) (about 1-2 minutes on first run; dotnet's progress follows)..."
	$(DOTNET) publish src/Switchyard -c $(CONFIG) -r $(RID) -o $(PUBLISH_DIR)
	@ls -l $(BIN)

publish: deps-aot $(BIN)

# The sidecar image from the published binary, without pulling anything (containers/Dockerfile's final stage).
image: publish deps-docker
	containers/build-image.sh $(BIN) switchyard:dev

run: publish
	@echo "starting the demo: $(BIN) demo (Ctrl-C stops it)"
	$(BIN) demo

build:
	$(DOTNET) build aot.sln -c $(CONFIG)

unit-test: build
	$(DOTNET) test src/Switchyard.Tests -c $(CONFIG) --no-build

native-test: deps-docker publish build
	SWITCHYARD_BIN=$(abspath $(BIN)) $(DOTNET) test native-tests/Switchyard.NativeTests -c $(CONFIG) --no-build

test: deps-test deps-docker publish build
	$(DOTNET) test src/Switchyard.Tests -c $(CONFIG) --no-build
	SWITCHYARD_BIN=$(abspath $(BIN)) $(DOTNET) test native-tests/Switchyard.NativeTests -c $(CONFIG) --no-build

# The example manifests' derived files (native-tests/Containers/K8sExampleTests fails when they are stale).
k8s-examples: publish
	$(BIN) generate -f containers/k8s/echo.yaml -o containers/k8s/echo.config.json
	$(BIN) inject -f containers/k8s/echo.yaml > containers/k8s/echo.injected.yaml

# A fresh build each time: sharpfuzz instruments switchyard.dll in place (and refuses an instrumented one).
fuzz: deps-fuzz
	rm -rf $(FUZZ_BIN)
	$(DOTNET) tool restore
	$(DOTNET) build native-tests/fuzz/Switchyard.Fuzz -c $(CONFIG) -o $(FUZZ_BIN)
	$(DOTNET) tool run sharpfuzz $(FUZZ_BIN)/switchyard.dll
	native-tests/fuzz/fuzz.sh $(FUZZ_BIN) $(FUZZ_OUT) $(FUZZ_SECONDS) $(FUZZ_TIMEOUT_MS) $(FUZZ_TARGETS)

perf: publish
	$(call apt_install,$(PERF_PACKAGES) wrk gnuplot-nox)
	CHART=perf/ratios.png perf/load/compare.sh

perf-h1: publish
	$(call apt_install,$(PERF_PACKAGES) wrk)
	perf/load/http1-routing.sh

perf-h2: publish
	$(call apt_install,$(PERF_PACKAGES) wrk)
	KIND=h2 perf/load/http1-routing.sh

# Not part of `make test`: perf/Switchyard.Soak against the published binary (perf/README.md; results in perf/RESULTS.md).
soak: publish
	$(DOTNET) build perf/Switchyard.Soak -c $(CONFIG) -v quiet -nologo
	SWITCHYARD_BIN=$(abspath $(BIN)) $(DOTNET) perf/Switchyard.Soak/bin/$(CONFIG)/net10.0/Switchyard.Soak.dll --seconds $(SOAK_SECONDS)

# Not part of `make test`: perf/load/slowhttp.sh (perf/README.md; results in perf/RESULTS.md, "Slow clients").
slowhttp: publish
	$(call apt_install,slowhttptest nginx openssl curl iproute2 bc)
	SWITCHYARD_BIN=$(abspath $(BIN)) SLOW_CONNECTIONS=$(SLOW_CONNECTIONS) SLOW_SECONDS=$(SLOW_SECONDS) perf/load/slowhttp.sh

bench:
	$(DOTNET) run -c Release --project perf/Switchyard.Benchmarks -- --filter '*'

clean:
	rm -rf artifacts
	$(DOTNET) clean aot.sln -c $(CONFIG) >/dev/null
