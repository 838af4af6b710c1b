# Galaxy — the two commands a newcomer needs are `make run` and `make test`.
# Everything else here is what those two call, plus `make bench`.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

DOCKER_NETWORK ?= galaxy-dev
CARGO ?= cargo
FUZZ_SECONDS ?= 30

.PHONY: help run test demo bench build prepare dev-stack dev-stop engine-image images fmt lint fbs

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

prepare: ## install what is missing (apt), start PostgreSQL and Docker
	@scripts/ensure-packages.sh
	@scripts/ensure-postgres.sh
	@scripts/ensure-docker.sh $(DOCKER_NETWORK)

dev-stack: prepare ## start the local SMTP server (+ web inbox) and write the GeoIP fixture
	@scripts/dev-stack.sh start

engine-image: prepare ## build galaxy-game and import it as the local image galaxy/game:<version>
	@scripts/engine-image.sh

images: prepare ## build the engine, backend, gateway and dev-stack images locally, no registry (docs/deploy.md)
	@scripts/engine-image.sh
	@scripts/backend-image.sh

build: prepare ## compile the workspace once for both `run` and `test` (shows progress)
	@scripts/build.sh

run: dev-stack engine-image build ## run galaxy-backend against the local stack
	@source scripts/dev-env.sh && scripts/print-surfaces.sh \
		&& exec "$${CARGO_TARGET_DIR:-target}/debug/galaxy-backend"

test: prepare images build ## every test of the workspace (unit, integration, contract)
	@scripts/engine-test-images.sh >/dev/null
	@scripts/check-layers.sh
	@scripts/check-fbs.sh --check
	@scripts/run-tests.sh

demo: dev-stack engine-image build ## play a short real game: two CLI players, bot orders, 3 turns, a pause/resume
	@scripts/demo.sh

bench: prepare engine-image ## print the benchmark figures
	@scripts/bench.sh

.PHONY: chaos fuzz
chaos: prepare engine-image ## the chaos suite: faults against the real service, one line of figures each, then a short fuzz run
	@scripts/chaos.sh

fuzz: ## fuzz every input parser with a fresh seed, FUZZ_SECONDS (default 30) per property (scripts/fuzz.sh)
	@scripts/fuzz.sh $(FUZZ_SECONDS)

fbs: ## regenerate the FlatBuffers Rust code from schema/fbs (flatc --rust)
	@scripts/check-fbs.sh

fmt: ## format the code
	@$(CARGO) fmt --all

lint: ## clippy on every crate
	@$(CARGO) clippy -q --workspace --all-targets -- -D warnings

dev-stop: ## stop the local SMTP server started by `make run`
	@scripts/dev-stack.sh stop
