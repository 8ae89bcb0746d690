# signer — see README.md. `make run` and `make test` install what a fresh
# machine lacks (PostgreSQL, SoftHSM2, OpenSSL, a JDK via apt-get; buf and
# the protoc plugins via go install) before they start.

SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPCURL_VERSION            := v1.9.4
STATICCHECK_VERSION        := v0.8.2
GOVULNCHECK_VERSION        := v1.1.4
# Deployment artifact validators (make deploy-check). kubernetes-models and
# yaml are pinned in deploy/kubernetes/check/package-lock.json; podman,
# systemd-analyze and node come from Debian packages.
PROMTOOL_VERSION           := v0.316.0 # github.com/prometheus/prometheus module of Prometheus 3.x
KUBERNETES_MODELS_VERSION  := 5.1.0    # must match deploy/kubernetes/check/package.json
GREMLINS_VERSION           := v0.6.0

# Debian packages the tests need, keyed by the command that proves each is there.
APT_NEEDS := /usr/lib/postgresql:postgresql curl:curl softhsm2-util:softhsm2 pkcs11-tool:opensc openssl:openssl java:default-jre-headless javac:default-jdk-headless

TEST_FLAGS ?= -race -timeout 20m

.PHONY: drill mutate seed-ledger all build grpcurl lint vuln fuzz run test test-unit proto proto-check tools deps vet bench test-reliability clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/signer ./cmd/signer
	$(GO) build -o $(BIN)/signerctl ./cmd/signerctl

## deps-run: what `make run` needs (PostgreSQL server binaries).
deps-run:
	@$(MAKE) --no-print-directory deps APT_NEEDS="/usr/lib/postgresql:postgresql"

## run: start a development signer (throwaway PostgreSQL, dev CA, software key) on 127.0.0.1:7420.
run: deps-run build
	$(BIN)/signer dev --data-dir .signer-dev --listen 127.0.0.1:7420

## test: everything CI runs — generated code up to date, vet and staticcheck, the whole
## suite with -race, a short fuzzing pass (a fixed number of inputs per target: a
## time-boxed pass can end mid-run with a spurious "context deadline exceeded"), and govulncheck when its database is reachable.
test: deps proto-check lint deploy-check
	$(GO) test $(TEST_FLAGS) ./...
	FUZZTIME=20000x bash scripts/fuzz.sh
	@$(MAKE) --no-print-directory vuln

## deploy-check: validate deploy/ with real tools — the systemd unit with systemd-analyze
## verify (any warning fails), the Kubernetes manifests against the Kubernetes OpenAPI
## schemas (kubernetes-models via npm ci). The alert rules and dashboard are checked
## against the exported metrics by go test (internal/metrics), and by promtool when it
## is already in .bin (make promtool-check installs it: a long build, docs/operations.md).
deploy-check: deploy-check-systemd deploy-check-kubernetes
	@if [[ -x $(BIN)/promtool ]]; then $(MAKE) --no-print-directory promtool-check; \
	else echo "promtool not in $(BIN): alert rules checked by go test only (make promtool-check installs it; a long build)"; fi

deploy-check-systemd: build
	@command -v systemd-analyze >/dev/null || $(MAKE) --no-print-directory deps APT_NEEDS="systemd-analyze:systemd"
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	sed 's|/usr/local/bin/signer|$(BIN)/signer|g' deploy/systemd/signer.service > $$tmp/signer.service; \
	out=$$(systemd-analyze verify $$tmp/signer.service 2>&1); rc=$$?; \
	if [[ $$rc -ne 0 || -n "$$out" ]]; then echo "$$out"; echo "systemd-analyze verify: deploy/systemd/signer.service has problems"; exit 1; fi; \
	echo "deploy/systemd/signer.service: systemd-analyze verify OK"

deploy-check-kubernetes:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps APT_NEEDS="node:nodejs npm:npm"
	@grep -q '"kubernetes-models": "$(strip $(KUBERNETES_MODELS_VERSION))"' deploy/kubernetes/check/package.json || { echo "KUBERNETES_MODELS_VERSION differs from deploy/kubernetes/check/package.json"; exit 1; }
	cd deploy/kubernetes/check && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && node validate.mjs ../*.yaml

## promtool-check: promtool check rules and promtool test rules on deploy/prometheus.
promtool-check: $(BIN)/promtool
	promtool check rules deploy/prometheus/alerts.yaml
	promtool test rules deploy/prometheus/alerts_test.yaml

$(BIN)/promtool:
	GOBIN=$(BIN) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(strip $(PROMTOOL_VERSION))

## image: the container image (deploy/Containerfile) with podman (or docker): static
## binaries, non-root, for a read-only root filesystem. IMAGE names it.
IMAGE ?= signer:dev
image:
	@command -v podman >/dev/null || command -v docker >/dev/null || $(MAKE) --no-print-directory deps APT_NEEDS="podman:podman"
	@mkdir -p $(CURDIR)/.image
	CGO_ENABLED=1 $(GO) build -trimpath -tags osusergo,netgo -ldflags '-s -w -linkmode external -extldflags -static' -o $(CURDIR)/.image/signer ./cmd/signer
	CGO_ENABLED=1 $(GO) build -trimpath -tags osusergo,netgo -ldflags '-s -w -linkmode external -extldflags -static' -o $(CURDIR)/.image/signerctl ./cmd/signerctl
	cp /etc/ssl/certs/ca-certificates.crt $(CURDIR)/.image/ca-certificates.crt
	engine=$$(command -v podman || command -v docker); $$engine build -f deploy/Containerfile -t $(IMAGE) .
	@engine=$$(command -v podman || command -v docker); $$engine image inspect --format 'user={{.Config.User}} entrypoint={{.Config.Entrypoint}}' $(IMAGE)

## lint: go vet, gofmt (every tracked Go file) and staticcheck.
lint: vet $(BIN)/staticcheck
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n "$$bad" ]]; then echo "gofmt -w needed:"; echo "$$bad"; exit 1; fi
	staticcheck ./...

## vuln: govulncheck against the Go vulnerability database (vuln.go.dev). Where that host
## cannot be reached (this project's sandbox reaches only package registries) it says so
## and stops without failing; everywhere else a finding fails the build.
vuln: $(BIN)/govulncheck
	@if timeout 10 bash -c 'exec 3<>/dev/tcp/vuln.go.dev/443' 2>/dev/null; then \
	  govulncheck ./...; \
	else echo "govulncheck: vuln.go.dev unreachable from this machine; vulnerability scan not run"; fi

## fuzz: every fuzz target for FUZZTIME (default 60s) each.
fuzz:
	FUZZTIME=$${FUZZTIME:-60s} bash scripts/fuzz.sh

test-unit:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

## deps: install the Debian packages the service and its tests use, when missing.
deps:
	@missing=""; \
	for pair in $(APT_NEEDS); do \
	  probe=$${pair%%:*}; pkg=$${pair##*:}; \
	  if [[ $$probe == /* ]]; then [[ -e $$probe ]] || missing="$$missing $$pkg"; \
	  else command -v $$probe >/dev/null 2>&1 || missing="$$missing $$pkg"; fi; \
	done; \
	if [[ -n "$$missing" ]]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [[ $$(id -u) -eq 0 ]] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## tools: buf and the protoc plugins, pinned, into .bin/.
tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc

$(BIN)/buf:
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(BIN)/govulncheck:
	GOBIN=$(BIN) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

## grpcurl: the gRPC command-line client used in the README tour, into .bin/.
grpcurl: $(BIN)/grpcurl
$(BIN)/grpcurl:
	GOBIN=$(BIN) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

## proto: lint the API and regenerate gen/ with the local plugins (buf.yaml at the
## root: the workspace whose one module is proto/; buf.gen.yaml says where gen/ goes).
proto: tools
	buf lint
	buf generate

## proto-check: fail if gen/ is not what `make proto` would write.
proto-check: tools
	buf lint
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	buf generate --output $$tmp && \
	if ! diff -r $$tmp/gen gen >/dev/null; then \
	  diff -r $$tmp/gen gen | head -40; \
	  echo "gen/ is stale: run 'make proto' and commit the result"; exit 1; \
	fi; echo "gen/ is up to date"

## seed-ledger: append N synthetic signatures (default 1000000) through the real write path
## to $DATABASE_URL (or a throwaway cluster), printing the append rate; BENCH=1 also times
## the auditor queries and `ledger verify`'s checks. Never against production.
N ?= 1000000
seed-ledger:
	$(GO) run ./cmd/ledgerseed -n $(N) $(if $(BENCH),-bench)

## bench: benchmarks (streaming Ed25519, key backends, service memory, service under load); figures go to bench/results/, the report to docs/BENCHMARKS.md.
bench: deps
	bash bench/run.sh

## drill: issue 16's incident drill at full size (INCIDENT_DRILL_N affected + as many unaffected
## signatures, default 100,000; `make test` runs it at 300): its wall time and the offline bulk
## verify rate go to bench/results/incident.txt.
drill: deps-run
	INCIDENT_DRILL_N=$${INCIDENT_DRILL_N:-100000} INCIDENT_DRILL_RESULTS=$(CURDIR)/bench/results/incident.txt \
		$(GO) test -run 'TestIncidentKeyCompromiseDrill$$' -count 1 -timeout 60m -v ./integration/

clean:
	rm -rf $(BIN)

## mutate: mutation testing (gremlins) of the trust-critical packages, one package at a time;
## results in mutation/results/. Slow (see docs/development.md), so not in `make test`.
## MUTATE_PKGS="internal/chain internal/kms" limits it to those packages.
mutate: deps $(BIN)/gremlins
	GREMLINS=$(BIN)/gremlins bash scripts/mutate.sh $(MUTATE_PKGS)

$(BIN)/gremlins:
	GOBIN=$(BIN) $(GO) install github.com/go-gremlins/gremlins/cmd/gremlins@$(GREMLINS_VERSION)

## soak: mixed archive, digest, batch and auditor traffic against `signer dev` for SOAK_DURATION
## (default 30m), sampling RSS, goroutines, open files and database connections into
## bench/results/soak.txt; ends with signerctl ledger verify. Not part of `make test`.
soak: deps
	SOAK_DURATION=$${SOAK_DURATION:-30m} bash bench/soak.sh

## test-reliability: fault tests, each ending with signerctl ledger verify against a checkpoint saved before
## its fault (failover to a synchronous standby and the asynchronous trap, kill -9 under load, database
## outage under load, SIGTERM drain, spool disk full, KMS faults, replicas); slow, so not in `make test`.
test-reliability: deps
	$(GO) test -race -tags reliability -run 'Reliability' -count 1 -timeout 30m -v ./integration/
