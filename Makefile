# exitlane: one command to run the simulated lane, one to run the tests.
# Both install what they need on Debian 12 (as root, or with sudo).
#
#   make run    the whole lane in simulation (sandbox PayBy, pty devices, SQLite)
#   make test   every test; what .ci/run calls
#   make deb    the Debian package bin/exitlane_<version>_amd64.deb (docs/install.md)
#   make test-deb  build, lintian, install, upgrade and purge it here (root; .ci/run)

SHELL := /bin/bash
GO ?= go
export LANG ?= en_US.UTF-8

# Build: gcc and the GL/X11 headers Fyne's GLFW driver compiles against.
BUILD_PACKAGES := ca-certificates gcc libc6-dev pkg-config \
	libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
# Tests and screenshots: a virtual X server, screenshot and QR-decoding
# tools, and the browser that presses Pay on the sandbox's checkout page.
TEST_PACKAGES := $(BUILD_PACKAGES) xvfb xauth x11-apps imagemagick zbar-tools chromium openssl postgresql
# Running the kiosk under X: the software GL driver.
RUN_PACKAGES := $(BUILD_PACKAGES) libgl1-mesa-dri xvfb xauth
# The Debian package: dpkg-shlibdeps (dpkg-dev) and objcopy (binutils).
DEB_PACKAGES := $(BUILD_PACKAGES) dpkg-dev binutils

# Each test runs once: under the race detector for every package but the
# Fyne UI, plain for the UI's cgo-heavy tests. (A plain run of the other
# packages as well took a cold two-core machine 13 of its 26 minutes.)
RACE_PKGS = $$($(GO) list ./... | grep -v -e '/ui$$')

.PHONY: run test deps-build deps-test deps-run deps-deb build vet fmt-check bench package deb test-deb

run: deps-run
	$(GO) mod download
	$(GO) run . sim $(ARGS)

test: deps-test
	$(GO) mod download
	$(GO) test -count=1 ./ui
	$(GO) test -count=1 -race $(RACE_PKGS)

build: deps-build
	$(GO) build -o exitlane .

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./ticket ./payby/... ./barrier ./ledger ./lane

package: deps-build
	./scripts/package.sh

deb: deps-deb
	./scripts/build-deb.sh

test-deb: deps-deb
	./scripts/test-deb.sh

deps-build:
	@./scripts/apt-install.sh $(BUILD_PACKAGES)
deps-test:
	@./scripts/apt-install.sh $(TEST_PACKAGES)
deps-run:
	@./scripts/apt-install.sh $(RUN_PACKAGES)
deps-deb:
	@./scripts/apt-install.sh $(DEB_PACKAGES)
