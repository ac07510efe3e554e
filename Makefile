# volumed — build, test, run. `make demo` and `make test` install what is missing first.
SWIFT        ?= swift
# Tests run optimized (the numerical tests are 10–50× slower in debug) with testability on.
TEST_FLAGS   := -c release -Xswiftc -enable-testing
# The shipped binary: a separate build folder, so test and release builds don't evict each other.
RELEASE_DIR  := .build-release
VOLUMED      := $(RELEASE_DIR)/release/volumed
PREFIX       ?= /usr/local

.PHONY: deps release test unit soak soak-short soak-build bench demo install clean

include Fuzz/fuzz.mk

deps:
	@scripts/deps.sh

release: deps
	$(SWIFT) build -c release --scratch-path $(RELEASE_DIR) --product volumed

# Everything CI checks: the test suite, then a short fuzzing pass over every parser.
test: deps unit fuzz-short

# One test target at a time: the estimator's long synchronous tests would otherwise hold the
# cooperative threads that the daemon's timing-sensitive tests (watcher, sd_notify) wait on.
unit:
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter EstimatorTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter DBTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter DaemonTests

# Fault-injection soak: `volumed serve` (optimized, built with the test flags into .build, so it
# reuses what `make unit` compiled) gets checkpoints good and bad, SIGKILLs and a PostgreSQL
# restart; then every row is checked. Prints a summary; fails on anything lost, duplicated or stuck.
SOAK      := .build/release/volumed-soak
# The schedule (checkpoints, defects, kill times) follows from the seed: `make soak SOAK_SEED=7`.
SOAK_SEED ?= 1

soak-build:
	$(SWIFT) build $(TEST_FLAGS) --product volumed
	$(SWIFT) build $(TEST_FLAGS) --product volumed-soak

soak: deps soak-build
	$(SOAK) --seed $(SOAK_SEED) --checkpoints 520 --kills 24 --minutes 8

# Under five minutes: part of `make test`.
soak-short: deps soak-build
	$(SOAK) --seed $(SOAK_SEED) --checkpoints 120 --kills 6 --minutes 2.5

bench: release
	$(VOLUMED) bench

demo: release
	$(VOLUMED) demo

install: release
	install -D -m 0755 $(VOLUMED) $(DESTDIR)$(PREFIX)/bin/volumed
	install -D -m 0644 systemd/volumed.service $(DESTDIR)/etc/systemd/system/volumed.service
	install -D -m 0644 systemd/volumed@.service $(DESTDIR)/etc/systemd/system/volumed@.service
	@if [ -e $(DESTDIR)/etc/volumed/volumed.toml ]; then \
		echo "keeping existing /etc/volumed/volumed.toml"; \
	else \
		install -D -m 0644 systemd/volumed.toml $(DESTDIR)/etc/volumed/volumed.toml; \
	fi
	@echo "installed; run: systemctl daemon-reload && systemctl enable --now volumed"

clean:
	rm -rf .build $(RELEASE_DIR) .build-fuzz
