# Developer and CI entry points (GNU make). `make test` is what .ci/run runs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

CARGO ?= cargo

# Dev cluster used by `make run`; override by exporting INTAKEFLOW_DATA_DIR.
DEV_DATA_DIR := $(CURDIR)/.intakeflow
INTAKEFLOW_DATA_DIR ?= $(DEV_DATA_DIR)

# The test cluster lives outside the checkout: as root, PostgreSQL runs as the
# `postgres` user, which cannot traverse a clone under a 0700 directory (/root,
# a mktemp dir). The hash keeps clones of the repo from sharing a cluster.
TEST_DATA_DIR ?= /tmp/intakeflow-test-$(shell id -u)-$(shell printf '%s' '$(CURDIR)' | cksum | cut -d' ' -f1)

# The load benchmark's cluster: like the test cluster, outside the checkout.
BENCH_DATA_DIR ?= /tmp/intakeflow-bench-$(shell id -u)-$(shell printf '%s' '$(CURDIR)' | cksum | cut -d' ' -f1)

PG_PACKAGES := postgresql postgresql-contrib

# The browser the GraphiQL console's test drives (tests/it/console_browser.rs): the OS's
# Chromium, so the test downloads no browser. Prints its path, or nothing.
FIND_CHROMIUM = \
	if [ -n "$${INTAKEFLOW_CHROMIUM:-}" ]; then \
		if [ -x "$$INTAKEFLOW_CHROMIUM" ]; then echo "$$INTAKEFLOW_CHROMIUM"; fi; \
	else command -v chromium || command -v chromium-browser || true; fi

# Same search as src/db/local_pg.rs: prints the directory holding initdb,
# pg_ctl and postgres, or nothing.
FIND_PG_BINDIR = \
	has() { [ -x "$$1/initdb" ] && [ -x "$$1/pg_ctl" ] && [ -x "$$1/postgres" ]; }; \
	if [ -n "$${INTAKEFLOW_PG_BINDIR:-}" ]; then \
		if has "$$INTAKEFLOW_PG_BINDIR"; then echo "$$INTAKEFLOW_PG_BINDIR"; fi; \
	else \
		d=$$(pg_config --bindir 2>/dev/null || true); \
		if [ -n "$$d" ] && has "$$d"; then echo "$$d"; \
		else for d in $$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do \
			if has "$$d"; then echo "$$d"; break; fi; done; \
		fi; \
	fi

# Stops the cluster in data dir $(1) if one runs there. pg_ctl refuses to run
# as root, so as root it runs as whoever owns the cluster; the flock is the
# one the server takes around start/stop.
STOP_CLUSTER = \
	dir=$$(realpath -m '$(1)'); \
	if [ -f "$$dir/pgdata/PG_VERSION" ]; then \
		bindir=$$($(FIND_PG_BINDIR)); \
		if [ -z "$$bindir" ]; then echo "no PostgreSQL binaries to stop $$dir with" >&2; exit 1; fi; \
		run=(); owner=$$(stat -c %U "$$dir/pgdata"); \
		if [ "$$(id -u)" = 0 ] && [ "$$owner" != root ]; then run=(runuser -u "$$owner" --); fi; \
		cd /; \
		if "$${run[@]}" "$$bindir/pg_ctl" status -D "$$dir/pgdata" >/dev/null; then \
			flock "$$dir/cluster.lock" "$${run[@]}" "$$bindir/pg_ctl" stop -D "$$dir/pgdata" -m fast -w; \
		fi; \
	fi

.PHONY: deps browser toolchain js-deps ts-kit run test bench bench-smoke fmt lint schema clean-db stop-test-db stop-bench-db

deps:
	@bindir=$$($(FIND_PG_BINDIR)); \
	if [ -n "$$bindir" ]; then echo "PostgreSQL server binaries: $$bindir"; exit 0; fi; \
	if [ -n "$${INTAKEFLOW_PG_BINDIR:-}" ]; then \
		echo "PostgreSQL server binaries not found in INTAKEFLOW_PG_BINDIR=$$INTAKEFLOW_PG_BINDIR" >&2; exit 1; \
	fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "PostgreSQL server binaries not found; install them with:" >&2; \
		echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(PG_PACKAGES)" >&2; \
		exit 1; \
	fi; \
	echo "Installing PostgreSQL server binaries ($(PG_PACKAGES))"; \
	apt-get update; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(PG_PACKAGES); \
	bindir=$$($(FIND_PG_BINDIR)); \
	if [ -z "$$bindir" ]; then echo "PostgreSQL server binaries still not found after install" >&2; exit 1; fi; \
	echo "PostgreSQL server binaries: $$bindir"

# Like `deps`, for Chromium (Debian's package is `chromium`).
browser:
	@path=$$($(FIND_CHROMIUM)); \
	if [ -n "$$path" ]; then echo "Chromium: $$path"; exit 0; fi; \
	if [ -n "$${INTAKEFLOW_CHROMIUM:-}" ]; then \
		echo "INTAKEFLOW_CHROMIUM=$$INTAKEFLOW_CHROMIUM is not an executable" >&2; exit 1; \
	fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "Chromium not found (the GraphiQL console's browser test needs it); install it with:" >&2; \
		echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium" >&2; \
		exit 1; \
	fi; \
	echo "Installing Chromium"; \
	apt-get update; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	path=$$($(FIND_CHROMIUM)); \
	if [ -z "$$path" ]; then echo "Chromium still not found after install" >&2; exit 1; fi; \
	echo "Chromium: $$path"

toolchain:
	@if ! $(CARGO) fmt --version >/dev/null 2>&1 || ! $(CARGO) clippy --version >/dev/null 2>&1; then \
		rustup component add rustfmt clippy; \
	fi

# Node packages of the integration tests (tests/js: graphql-http's audit, the graphql-ws client).
# npm writes node_modules/.package-lock.json on install, so an up-to-date install is skipped.
JS_STAMP := tests/js/node_modules/.package-lock.json
js-deps: $(JS_STAMP)
$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund
	@touch $@

# The TypeScript kit (clients/typescript): install, generate its typed documents from
# schema.graphql, typecheck. `make test` runs it before cargo test, so a schema change that
# breaks one of the kit's documents fails here; tests/it/typescript_kit.rs then runs its example.
TS_KIT := clients/typescript
TS_KIT_STAMP := $(TS_KIT)/node_modules/.package-lock.json
ts-kit: $(TS_KIT_STAMP)
	npm --prefix $(TS_KIT) run codegen
	npm --prefix $(TS_KIT) run typecheck
$(TS_KIT_STAMP): $(TS_KIT)/package.json $(TS_KIT)/package-lock.json
	npm ci --prefix $(TS_KIT) --no-audit --no-fund
	@touch $@

run: deps
	INTAKEFLOW_DATA_DIR='$(INTAKEFLOW_DATA_DIR)' $(CARGO) run --release -- serve

# The test cluster is stopped afterwards whatever the outcome, keeping the
# test run's exit status. (No recursive make: `make -n` would run that line.)
test: deps browser toolchain js-deps ts-kit
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	@status=0; \
	INTAKEFLOW_TEST_DATA_DIR='$(TEST_DATA_DIR)' INTAKEFLOW_CHROMIUM="$$($(FIND_CHROMIUM))" \
		$(CARGO) test --all-targets || status=$$?; \
	( $(call STOP_CLUSTER,$(TEST_DATA_DIR)) ) || echo "warning: could not stop the test cluster" >&2; \
	exit $$status

stop-test-db:
	@$(call STOP_CLUSTER,$(TEST_DATA_DIR))

# The load benchmark (README "Performance"); not part of `make test`. Builds the release server,
# then runs benches/load against it; BENCH_* variables size it. The cluster is stopped afterwards
# whatever the outcome, keeping the bench's exit status.
bench: deps
	$(CARGO) build --release --bin intakeflow
	@status=0; \
	BENCH_DATA_DIR='$(BENCH_DATA_DIR)' $(CARGO) bench --bench load || status=$$?; \
	( $(call STOP_CLUSTER,$(BENCH_DATA_DIR)) ) || echo "warning: could not stop the bench cluster" >&2; \
	exit $$status

# A quick run of every scenario at a hundredth of the size, to check the bench itself works.
bench-smoke: deps
	$(CARGO) build --release --bin intakeflow
	@status=0; \
	BENCH_SCALE=0.01 BENCH_DURATION_SECS=2 BENCH_WARMUP_SECS=1 BENCH_SUBSCRIBERS=100 BENCH_STATUS_CHANGES=5 \
	BENCH_OUT="$${BENCH_OUT:-$(CURDIR)/target/bench/smoke.md}" \
	BENCH_DATA_DIR='$(BENCH_DATA_DIR)' $(CARGO) bench --bench load || status=$$?; \
	( $(call STOP_CLUSTER,$(BENCH_DATA_DIR)) ) || echo "warning: could not stop the bench cluster" >&2; \
	exit $$status

stop-bench-db:
	@$(call STOP_CLUSTER,$(BENCH_DATA_DIR))

fmt: toolchain
	$(CARGO) fmt --all

lint: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

schema:
	$(CARGO) run -q -- schema > schema.graphql.tmp
	mv schema.graphql.tmp schema.graphql

# Removes only clusters this Makefile owns: the repo's dev dir, the test dir and the bench dir.
clean-db:
	@$(call STOP_CLUSTER,$(DEV_DATA_DIR))
	rm -rf '$(DEV_DATA_DIR)'
	@$(call STOP_CLUSTER,$(TEST_DATA_DIR))
	rm -rf '$(TEST_DATA_DIR)'
	@$(call STOP_CLUSTER,$(BENCH_DATA_DIR))
	rm -rf '$(BENCH_DATA_DIR)'
