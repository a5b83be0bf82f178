# Build, test, benchmark and demonstrate oob-agent, companion, dps-emulator, oob-factory and oob-portal.
# `make test` and `make demo` work on a fresh machine: they install what they need
# (Debian packages, as root) or stop with a message naming it.

GO       ?= go
BIN      := bin
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# The agent speaks HTTP/1.1 only (DPS's device API, the factory's EST): net/http's HTTP/2 is
# left out, a third of a megabyte of its 8 MiB budget.
AGENT_TAGS := nethttpomithttp2
AGENT_ARCHES := amd64 arm64 arm

.PHONY: all build agent-cross companion-cross generate test test-vm bench demo demo-factory deps-test deps-bench deps-demo deps-vm clean install deb

all: build

build: $(BIN)/oob-agent $(BIN)/companion $(BIN)/dps-emulator $(BIN)/oob-factory $(BIN)/oob-portal agent-cross companion-cross

# The agent ships to devices: static, no cgo.
$(BIN)/oob-agent: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(AGENT_TAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/oob-agent

# The companion decodes JPEG images with libjpeg-turbo (pkg/imagefile, -tags turbojpeg; cgo and
# libturbojpeg0-dev, which scripts/deps.sh installs); the cross builds below use image/jpeg.
COMPANION_TAGS ?= turbojpeg

$(BIN)/companion: FORCE
	@case '$(COMPANION_TAGS)' in *turbojpeg*) test -e /usr/include/turbojpeg.h || { \
		echo "bin/companion needs libjpeg-turbo's headers: apt-get install libturbojpeg0-dev (make deps-test does), or build without them: make COMPANION_TAGS= bin/companion" >&2; exit 1; };; esac
	$(GO) build -trimpath -tags '$(COMPANION_TAGS)' -ldflags '$(LDFLAGS)' -o $@ ./cmd/companion

$(BIN)/dps-emulator: FORCE
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/dps-emulator

# The factory server: pure Go too (SQLite through modernc.org/sqlite), so no cgo.
$(BIN)/oob-factory: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/oob-factory

$(BIN)/oob-portal: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/oob-portal

agent-cross: $(foreach arch,$(AGENT_ARCHES),$(BIN)/linux-$(arch)/oob-agent)

# The agent for a device's architecture: bin/linux-GOARCH/oob-agent (arm is arm/v7).
$(BIN)/linux-%/oob-agent: FORCE
	@echo "build oob-agent linux/$*"
	CGO_ENABLED=0 GOOS=linux GOARCH=$* GOARM=7 $(GO) build -trimpath -tags $(AGENT_TAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/oob-agent

# The technician's CLI also runs on macOS and Windows (cameras through ffmpeg there).
companion-cross:
	@for target in darwin/arm64 windows/amd64; do \
		os=$${target%/*}; arch=$${target#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "build companion $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
			-o $(BIN)/$$os-$$arch/companion$$ext ./cmd/companion || exit 1; \
	done

FORCE:

# Files made from others: the screen's glyphs from Go Mono (pkg/display/internal/glyphgen);
# pkg/display's tests fail when they are stale.
generate:
	$(GO) generate ./pkg/display

deps-test deps-bench deps-demo deps-vm: deps-%:
	@scripts/deps.sh $*

# Unit, in-process integration and end-to-end tests (internal/e2e runs the real binaries
# against swtpm and the reference decoders). OOB_E2E=1 turns a missing tool into a failure.
test: deps-test build
	@if git grep -nE '^(<<<<<<<|>>>>>>>)( |$$)' -- . ':!*node_modules*'; then echo 'merge conflict markers left in the files above'; exit 1; fi
	$(GO) vet ./...
	scripts/make-camera-set.sh build/camera-set >/dev/null
	OOB_E2E=1 $(GO) test -count=1 -timeout 20m ./...
	OOB_E2E=1 $(GO) test -count=1 -tags '$(COMPANION_TAGS)' ./pkg/imagefile/

# The first boot in a virtual machine (internal/e2e/vm_test.go, docs/deploy.md): a Debian
# image with the agent's package, built by scripts/vm/build-image.sh and cached in
# ~/.cache/oob-vm, booted by scripts/vm/boot.sh in QEMU with a TPM from swtpm, onboarded
# through the emulator and rebooted into its workload. Minutes; not part of make test, run after
# it by .ci/run.
test-vm: deps-vm
	OOB_VM=1 $(GO) test -count=1 -timeout 40m -run '^TestVM' -v ./internal/e2e/

# OOB_BENCH_VM=0 leaves out the first boot in QEMU (and its tools).
bench: deps-bench $(if $(filter 0,$(OOB_BENCH_VM)),,deps-vm) build
	scripts/bench.sh

# The first half (TPM identity, QR, enrollment, first boot), then the factory's flow through
# the activation portal.
demo: deps-demo $(BIN)/oob-agent $(BIN)/companion $(BIN)/dps-emulator $(BIN)/oob-factory $(BIN)/oob-portal
	scripts/demo.sh
	scripts/demo-factory.sh

demo-factory: deps-demo $(BIN)/oob-agent $(BIN)/companion $(BIN)/dps-emulator $(BIN)/oob-factory $(BIN)/oob-portal
	scripts/demo-factory.sh

# Lay the agent into a root directory as a device image build would, and enable its unit there:
#   make install DESTDIR=/path/to/rootfs [ARCH=arm64|arm|amd64]
# An existing etc/oob/agent.json is kept. Without DESTDIR this installs into / (on a device).
ARCH ?= $(shell $(GO) env GOARCH)
install: $(BIN)/linux-$(ARCH)/oob-agent
	install -D -m 0755 $(BIN)/linux-$(ARCH)/oob-agent $(DESTDIR)/usr/bin/oob-agent
	install -D -m 0644 deploy/oob-agent.service $(DESTDIR)/usr/lib/systemd/system/oob-agent.service
	install -D -m 0644 docs/deploy.md $(DESTDIR)/usr/share/doc/oob-agent/deploy.md
	install -d -m 0755 $(DESTDIR)/etc/oob
	[ -e $(DESTDIR)/etc/oob/agent.json ] || install -m 0644 deploy/agent.json $(DESTDIR)/etc/oob/agent.json
	install -d -m 0700 $(DESTDIR)/var/lib/oob
	systemctl --root=$(or $(DESTDIR),/) enable oob-agent.service

# The agent's Debian packages, build/oob-agent_VERSION_ARCH.deb for amd64, arm64 and armhf
# (deploy/nfpm.yaml, scripts/mkdeb): the static agent, its unit enabled by a preset but not
# started on installation, /etc/oob/agent.json as a conffile. DEB_ARCHES=amd64 builds one;
# DEB_MAINTAINER defaults to the commit's author.
DEB_ARCHES     ?= $(AGENT_ARCHES)
DEB_DIR        ?= build
DEB_MAINTAINER ?= $(shell git log -1 --format='%an <%ae>' 2>/dev/null)
DEB_TIME       ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
deb: $(foreach arch,$(DEB_ARCHES),$(BIN)/linux-$(arch)/oob-agent)
	$(GO) run ./scripts/mkdeb -version '$(VERSION)' -time '$(DEB_TIME)' -maintainer '$(DEB_MAINTAINER)' \
		-bin $(BIN) -out $(DEB_DIR) $(DEB_ARCHES)

clean:
	rm -rf $(BIN) build
