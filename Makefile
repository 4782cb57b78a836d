# mopt: `make demo` and `make test` work on a fresh Debian bookworm machine (as root).
BUILD ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
export MOPT_ORT_DIR ?= $(CURDIR)/.cache/ort

.PHONY: all deps configure build test demo bench format clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)

bench: build
	bash bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
