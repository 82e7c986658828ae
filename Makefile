# Thin wrapper over CMake. `make run` serves, `make test` tests; both first
# install any missing Debian package (scripts/install-deps) and build.
BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS      ?= $(shell nproc)
ENDPOINT  ?= tcp://127.0.0.1:7420
DATA_DIR  ?= var/data

.PHONY: all deps configure build run test clean format install

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	@mkdir -p $(DATA_DIR)
	@echo "secpold: listening on $(ENDPOINT), store in $(DATA_DIR)/ (Ctrl-C stops)"
	@echo "try, in another terminal:  $(BUILD)/secpolctl --endpoint $(ENDPOINT) health"
	@exec $(BUILD)/secpold --endpoint $(ENDPOINT) --data-dir $(DATA_DIR)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

install: build
	@cmake --install $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	@rm -rf $(BUILD)
