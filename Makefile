# mopt: `make demo` and `make test` work on a fresh Debian bookworm machine (as root).
BUILD ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
export MOPT_ORT_DIR ?= $(CURDIR)/.cache/ort
# The sanitized build (docs/fuzzing.md): clang, ASan + UBSan, libFuzzer targets, no LibTorch.
FUZZ_BUILD ?= build-fuzz
FUZZ_CXX ?= clang++-14
# `make fuzz`: seconds per fuzz target; `make test`: the short pass it includes.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 15

.PHONY: all deps configure build test demo bench format clean fuzz-configure fuzz-build fuzz \
	test-sanitized

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build fuzz-build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-sanitized

fuzz-configure: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) \
		-DMOPT_FUZZ=ON

fuzz-build: fuzz-configure
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# The unit tests and the regression inputs under ASan + UBSan, then every fuzz target briefly.
test-sanitized: fuzz-build
	cd $(FUZZ_BUILD) && MOPT_FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) \
		ctest --output-on-failure -j $(JOBS) --timeout $$(( $(TEST_FUZZ_SECONDS) + 600 ))

# Every fuzz target for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=1800 JOBS=1 for a long run).
fuzz: fuzz-build
	cd $(FUZZ_BUILD) && MOPT_FUZZ_SECONDS=$(FUZZ_SECONDS) \
		ctest --output-on-failure -j $(JOBS) -L fuzz --timeout $$(( $(FUZZ_SECONDS) + 600 )); \
		rc=$$?; tail -qn1 fuzz/*/summary.txt; exit $$rc

demo: build
	bash scripts/demo.sh $(BUILD)

bench: build
	bash bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
