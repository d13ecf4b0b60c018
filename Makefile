# gfp: the two commands of the README are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
SWIFT ?= swift

# Debian packages the build, the tests and the demo need.
DEB_PACKAGES := libdnnl-dev libopenblas-dev liblapacke-dev libpng-dev libjpeg-dev libhdf5-dev \
                zlib1g-dev libsqlite3-dev pkg-config dataset-fashion-mnist python3-h5py gcc

.PHONY: deps build release test demo bench clean

## deps: install the Debian packages that are missing (as root, or through sudo).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Tests run optimised (training tests would take minutes unoptimised); -enable-testing keeps
# @testable imports working, and preconditions stay on in -O builds.
TEST_FLAGS := -c release -Xswiftc -enable-testing

## test: deps, build and the whole test suite.
test: deps
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-swift-testing

## demo: the main end-to-end job (see README.md, Status, for what it runs today).
demo: release
	Tools/demo.sh

## bench: the engine's benchmark beside oneDNN's own sgemm from C (and PyTorch when a venv is given).
bench: release
	Tools/bench-tensor.sh

clean:
	rm -rf .build
