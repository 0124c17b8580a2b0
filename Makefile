# builder: `make example` sets up a fresh machine and builds and runs the
# bundled example; `make test` runs the whole test suite.
GO ?= go
RUNC_VERSION := v1.5.2
BUILDKIT_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/moby/buildkit)
# docker buildx, the client whose remote driver the tests point at builder
# serve: the release built on the BuildKit version go.mod pins.
BUILDX_VERSION := v0.38.2
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all builder runc cni deps example image test unit integration peers crane buildkit-suite bench clean

all: builder runc cni

deps:
	scripts/deps.sh build

builder:
	$(GO) build -ldflags "-X github.com/builder-dev/builder/version.Version=$(VERSION)" -o bin/builder ./cmd/builder

# Debian's runc 1.1.5 lacks container-escape fixes: build the pinned current
# one from its Go module; builder finds it beside its own binary.
runc:
	@if ! bin/runc --version 2>/dev/null | grep -q "runc version $(RUNC_VERSION:v%=%)$$"; then \
		echo "building runc $(RUNC_VERSION)"; \
		CGO_ENABLED=1 GOBIN=$(CURDIR)/bin $(GO) install -tags seccomp github.com/opencontainers/runc@$(RUNC_VERSION); \
	fi

# The CNI plugins run's bridge network uses, at the version go.mod pins
# (containernetworking/plugins, already in the module graph): Debian's
# containernetworking-plugins is 1.1.1, years behind its fixes. builder
# finds them in cni/ beside its own binary.
CNI_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/containernetworking/plugins)
CNI_PLUGINS = bridge host-local portmap loopback firewall
cni:
	@if [ "$$(cat bin/cni/VERSION 2>/dev/null)" != "$(CNI_VERSION)" ]; then \
		echo "building CNI plugins $(CNI_VERSION)"; \
		mkdir -p bin/cni && \
		CGO_ENABLED=0 GOBIN=$(CURDIR)/bin/cni $(GO) install \
			$(foreach p,$(CNI_PLUGINS),github.com/containernetworking/plugins/plugins/$(if $(filter host-local,$(p)),ipam,$(if $(filter portmap firewall,$(p)),meta,main))/$(p)@$(CNI_VERSION)) && \
		echo $(CNI_VERSION) > bin/cni/VERSION; \
	fi

example: deps all
	gcc -static -O2 -o examples/hello/hello examples/hello/hello.c
	bin/builder build -t hello examples/hello
	bin/builder images
	bin/builder run --rm hello

# builder's own image, built by builder, for CI jobs that run in a
# container: bin/builder-image.tar, for `docker load`.
image: all
	scripts/deps.sh test
	scripts/image.sh bin/builder bin/runc builder:$(VERSION) bin/builder-image.tar

# Stock buildkitd and buildctl, from the BuildKit version go.mod pins: the
# peer for conformance and benchmarks. BuildKit's go.mod has exclude
# directives, so `go install pkg@version` refuses it; a throwaway module
# that requires exactly that version builds it instead.
peers:
	@if ! bin/buildkitd --version 2>/dev/null | grep -q " $(BUILDKIT_VERSION) "; then \
		echo "building buildkitd and buildctl $(BUILDKIT_VERSION)"; \
		tmp=$$(mktemp -d) && cd $$tmp && $(GO) mod init peer >/dev/null 2>&1 && \
		$(GO) get github.com/moby/buildkit/cmd/buildkitd@$(BUILDKIT_VERSION) github.com/moby/buildkit/cmd/buildctl@$(BUILDKIT_VERSION) && \
		CGO_ENABLED=0 $(GO) build -ldflags "-X github.com/moby/buildkit/version.Version=$(BUILDKIT_VERSION)" -o $(CURDIR)/bin/ github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl && \
		rm -rf $$tmp; \
	fi
	@if ! bin/docker-buildx version 2>/dev/null | grep -q " $(BUILDX_VERSION) "; then \
		echo "building docker-buildx $(BUILDX_VERSION)"; \
		tmp=$$(mktemp -d) && \
		CGO_ENABLED=0 GOBIN=$$tmp $(GO) install -ldflags "-X github.com/docker/buildx/version.Version=$(BUILDX_VERSION)" \
			github.com/docker/buildx/cmd/buildx@$(BUILDX_VERSION) && \
		mv $$tmp/buildx $(CURDIR)/bin/docker-buildx && rm -rf $$tmp; \
	fi

# go-containerregistry's crane, at the version go.mod pins: the tests read
# every archive and push builder makes with it, as scanners and ko do.
CRANE_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/google/go-containerregistry)
crane:
	@if ! bin/crane version 2>/dev/null | grep -qx "$(CRANE_VERSION)"; then \
		echo "building crane $(CRANE_VERSION)"; \
		GOBIN=$(CURDIR)/bin $(GO) install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION); \
	fi

# The unit tests: what a plain `go test ./...` runs, as any user. The
# integration tests need root, runc and a registry: -tags integration.
unit:
	$(GO) test ./...

# BuildKit's own frontend/dockerfile integration tests against stock
# buildkitd and builder serve side by side: `make test` runs this subset (a
# few minutes); `make buildkit-suite` runs them all (about 10 minutes).
BUILDKIT_SUITE_CI = TestCopy.*|TestDockerfileAdd.*|TestRun.*|TestHistory.*|TestDevice.*|TestCache.*|TestEnv.*|TestArg.*|TestWorkdir.*|TestUser.*|TestHeredoc.*|TestMultiStage.*|TestOnBuild.*

test: all peers crane
	scripts/deps.sh test
	$(GO) vet -tags integration ./...
	# The cloud cache backends are linked only with -tags cloudcache
	# (solver/cloudcache.go): vet that build too, so it cannot rot.
	$(GO) vet -tags cloudcache ./solver
	scripts/test.sh
	scripts/fuzz.sh
	scripts/buildkit-suite.sh '$(BUILDKIT_SUITE_CI)'

buildkit-suite: all peers
	scripts/deps.sh test
	scripts/buildkit-suite.sh

bench: all peers
	scripts/deps.sh bench
	bench/run.sh
	bench/images.sh
	bench/containers.sh
	bench/ci.sh
	bench/plugin.sh
	bench/serve.sh
	bench/rootless.sh
	bench/network.sh
	bench/context.sh

clean:
	rm -rf bin
