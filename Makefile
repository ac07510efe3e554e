# volumed — build, test, run. `make demo` and `make test` install what is missing first.
SWIFT        ?= swift
# Tests run optimized (the numerical tests are 10–50× slower in debug) with testability on.
TEST_FLAGS   := -c release -Xswiftc -enable-testing
# The shipped binary: a separate build folder, so test and release builds don't evict each other.
RELEASE_DIR  := .build-release
VOLUMED      := $(RELEASE_DIR)/release/volumed
PREFIX       ?= /usr/local

.PHONY: deps release test unit sanitize sanitize-address sanitize-thread soak soak-short soak-build bench bench-scale demo install clean

include Fuzz/fuzz.mk

deps:
	@scripts/deps.sh

release: deps
	$(SWIFT) build -c release --scratch-path $(RELEASE_DIR) --product volumed

# Everything CI checks: the test suite, a short fuzzing pass over every parser, a short soak.
test: deps unit fuzz-short soak-short

# One test target at a time: the estimator's long synchronous tests would otherwise hold the
# cooperative threads that the daemon's timing-sensitive tests (watcher, sd_notify) wait on.
unit:
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter BaseTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter EstimatorTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter DBTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter DaemonTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter PlottingTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter DashboardTests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter BenchmarksTests

# The LLC against devinterp 2.0.1's (fixtures/llc-reference.json), 10 seeds a case: minutes.
.PHONY: llc-agreement
llc-agreement:
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	LLC_AGREEMENT=1 $(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter LLCAgreementTests

# Volumes on the vision fixtures against tyche's (fixtures/vision-reference.json): every case,
# as many seeds as the reference (Atto-width: 5 seeds of k = 10): about ten minutes.
.PHONY: vision-agreement
vision-agreement:
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	VISION_AGREEMENT=1 $(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter VisionAgreementTests

# The radius search's bias check alone (it also runs in `unit`): per fixture, 40 seeds at
# tolerance 0.01 against 0.0001; prints the table and fails on a one-sided error.
.PHONY: radius-bias
radius-bias:
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-xctest --filter RadiusBiasTests

# The test suite under AddressSanitizer, then ThreadSanitizer (a developer target, not part of
# `make test`): optimized like `unit`, one target at a time, each sanitizer in its own build
# folder. The daemon tests run the `volumed` built next to them, so it is sanitized too; it
# inherits the *SAN_OPTIONS and OPENBLAS_NUM_THREADS set here. A report fails the run (the
# sanitizers' exit codes), in the test process and in a daemon the tests expect to exit 0.
SANITIZE_TARGETS := BaseTests EstimatorTests DBTests DaemonTests PlottingTests DashboardTests BenchmarksTests
# LeakSanitizer reports leaks inside the XCTest runtime that the test bundle loads.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no
# OpenBLAS's worker threads are not instrumented: TSan cannot see their synchronization, so
# they run on the calling thread (one thread) instead. sanitize/tsan.supp: see the file.
TSAN_ENV := TSAN_OPTIONS="suppressions=$(CURDIR)/sanitize/tsan.supp second_deadlock_stack=1" \
	OPENBLAS_NUM_THREADS=1 SWIFT_BACKTRACE=enable=no

sanitize: deps sanitize-address sanitize-thread

sanitize-address:
	$(SWIFT) build $(TEST_FLAGS) --sanitize=address --scratch-path .build-asan --build-tests
	@set -e; for target in $(SANITIZE_TARGETS); do \
		echo "== AddressSanitizer: $$target"; \
		$(ASAN_ENV) $(SWIFT) test $(TEST_FLAGS) --sanitize=address --scratch-path .build-asan \
			--skip-build --disable-xctest --filter $$target; \
	done

sanitize-thread:
	$(SWIFT) build $(TEST_FLAGS) --sanitize=thread --scratch-path .build-tsan --build-tests
	@set -e; for target in $(SANITIZE_TARGETS); do \
		echo "== ThreadSanitizer: $$target"; \
		$(TSAN_ENV) $(SWIFT) test $(TEST_FLAGS) --sanitize=thread --scratch-path .build-tsan \
			--skip-build --disable-xctest --filter $$target; \
	done

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

# The scale table (README "Scale"): synthetic Pythia-shaped checkpoints (70M, 160M, 410M, 1B; about
# 3.3 GB of fp16 files, written once into SCALE_DIR and reused), each estimated in its own process.
SCALE_DIR ?= /tmp/volumed-scale
bench-scale: release
	$(VOLUMED) bench --only scale --scale-dir $(SCALE_DIR)

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
	rm -rf .build $(RELEASE_DIR) .build-fuzz .build-asan .build-tsan
