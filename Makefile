# L-KaaS developer entry points. `make demo` runs the main job, `make test` the tests; both
# build the real tools they need (kube-apiserver, etcd, controller-gen) into a per-user cache
# outside the repository on first use, see docs/development.md.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

GO ?= go
TOOLS := hack/tools.sh
TOOLS_DIR := $(shell $(TOOLS) --print-dir)
CONTROLLER_GEN = $(shell $(TOOLS) --path controller-gen)
STATICCHECK = $(shell $(TOOLS) --path staticcheck)
IMG ?= lkaas/controller:dev
BIN_DIR ?= bin
GO_TEST_FLAGS ?= -race
TEST_TIMEOUT ?= 20m
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" at the deadline with no failing input (go.dev/issue/75804,
# fixed in Go 1.27); it failed make test once here. 20,000 runs take ~10-15 s per target.
FUZZ_TIME ?= 20000x

.PHONY: all
all: build

##@ Tools

.PHONY: tools
tools: ## Build kube-apiserver, etcd, controller-gen and helm into the tool cache (skips what is there).
	$(TOOLS)

E2E_TOOLS := kube-apiserver etcd kube-controller-manager source-controller capi-core capi-kubeadm-bootstrap capi-kubeadm-control-plane capd

.PHONY: e2e-tools
e2e-tools: ## Build the full management plane's tools (tools, kube-controller-manager, Flux source-controller, Cluster API managers).
	$(TOOLS) $(E2E_TOOLS)

##@ Development

.PHONY: generate
generate: ## Regenerate deepcopy code and CRDs (charts/lkaas/crds) from api/.
	$(TOOLS) controller-gen
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd:crdVersions=v1 paths=./api/... output:crd:artifacts:config=charts/lkaas/crds
	@hack/strip-crd-annotations.sh charts/lkaas/crds

.PHONY: verify-generate
verify-generate: ## Fail when the checked-in generated files are stale.
	hack/verify-generate.sh

.PHONY: build
build: ## Build the lkaas binary into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN_DIR)/lkaas ./cmd/lkaas

.PHONY: fmt
fmt:
	gofmt -w $$(git ls-files '*.go')

.PHONY: lint
lint: ## gofmt, go vet and staticcheck.
	$(TOOLS) staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

##@ Tests

.PHONY: test
test: tools verify-generate lint fuzz ## Unit and integration tests against a real kube-apiserver + etcd.
	$(GO) test $(GO_TEST_FLAGS) -timeout $(TEST_TIMEOUT) ./...

.PHONY: test-browser
test-browser: tools ## The status page in headless Chromium (installed by hack/chromium.sh); screenshots in $$LKAAS_SCREENSHOTS.
	hack/chromium.sh
	$(GO) test -count=1 -run 'TestBrowser' -v ./internal/web/

.PHONY: fuzz
fuzz: ## Run each fuzz target FUZZ_TIME (runs, or a duration; go test -fuzz takes one target at a time).
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZ_TIME) ./internal/loader
	$(GO) test -run '^$$' -fuzz '^FuzzSubstitute$$' -fuzztime $(FUZZ_TIME) ./internal/render

.PHONY: e2e
e2e: e2e-tools ## End-to-end tests (e2e/) against the full management plane.
	$(GO) test -v -p 1 -timeout 60m -tags e2e ./e2e/...

.PHONY: faults
faults: e2e-tools ## The fault suite (faults/): kill, restart and cut each part of the plane mid-change; prints recovery times.
	$(GO) test -v -p 1 -timeout 90m -tags faults ./faults/

.PHONY: bench
bench: tools ## Benchmarks on one core; prints time, memory, peak RSS and API requests.
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 -timeout 30m ./...

.PHONY: bench-chain
bench-chain: tools ## 1,000 clusters through the Fleet and Cluster controllers, then Flux kustomize-controller on the same objects; one table.
	$(TOOLS) kustomize-controller
	LKAAS_BENCH_CHAIN=1 $(GO) test -run '^$$' -bench '^BenchmarkChain1000Clusters$$' -benchtime 1x -timeout 90m -v ./controllers/

##@ Run

.PHONY: demo
demo: e2e-tools build ## Run the seed's mec-cluster on the local management plane (real Flux, Cluster API); Ctrl-C ends it.
	$(BIN_DIR)/lkaas demo

.PHONY: docker-build
docker-build: ## Build the controller image (needs a Docker engine).
	docker build -t $(IMG) .

.PHONY: help
help:
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
