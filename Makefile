# The interface a newcomer uses. Every target works from a fresh clone.
#   make run     everything in the foreground, stopped by Ctrl-C
#   make start   the same in the background; make stop stops it
#   make psql    psql on the local cluster (arguments: make psql ARGS='-c "SELECT 1"')
#   make test    installs what it needs, builds, runs every suite
#   make bench   benchmarks (see bench/README section of README.md)
#   make bench-web  only the REST service's benchmarks (wrk)
#   make loadtest  load tests with wrk (docs/load-test.md): nginx vs the service, 10 minutes of mixed load
#   make coverage  line coverage of our C++ under the test suites
#   make fuzz    the fuzzers, 10 minutes each (make test runs them 30 s each)
SHELL := /bin/bash
RUN_DIR := $(or $(FAMILY_RUN_DIR),$(CURDIR)/.run)
PG_DIR := $(RUN_DIR)/pg
FAMILY_PG_PORT ?= 5433
PGBIN := /usr/lib/postgresql/15/bin
export FAMILY_PG_PORT

.PHONY: all deps build install unit run start stop psql test coverage fuzz bench bench-web loadtest clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@scripts/build.sh

install: build
	@scripts/install.sh

unit: build
	extension/test/unit/run-unit-tests --color_output=no --report_level=short
	web/build/web-unit-tests --color_output=no --report_level=short
	web/build/status-unit-tests --color_output=no --report_level=short

start: install
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop

run: install
	@scripts/stack.sh run

psql:
	@$(PGBIN)/psql -h $(PG_DIR) -p $(FAMILY_PG_PORT) -U postgres $(ARGS) family

test: install
	@scripts/test.sh

coverage: deps
	@scripts/coverage.sh

fuzz: deps
	@scripts/fuzz.sh $(or $(FAMILY_FUZZ_SECONDS),600)

bench: install
	@bench/run.sh

bench-web: install
	@bench/web.sh

loadtest: install
	@loadtest/run.sh

clean:
	$(MAKE) -C extension clean
	$(MAKE) -C extension/test/unit clean
	$(MAKE) -C web clean
	rm -rf build coverage
