# Everyday entry points. `make help` lists them.
export UV_CACHE_DIR ?= $(HOME)/.cache/uv
export CARGO_TARGET_DIR ?= $(HOME)/.cache/lookskip/cargo-target
export PATH := $(HOME)/.local/bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: help setup quickstart test lint bench

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

setup:  ## install everything (uv, Python deps, Rust extension, redis-server, rabbitmq-server)
	scripts/setup

quickstart:  ## set up (minimal) and run a first real job, no Redis or API key needed
	scripts/quickstart

test:  ## the whole test suite: Rust unit tests, then pytest (starts its own Redis)
	@if [ -f rust/Cargo.toml ]; then cargo test --release --features bert --manifest-path rust/Cargo.toml; fi
	uv run --no-sync pytest

lint:  ## ruff (lint and format) and clippy
	uv run --no-sync ruff check .
	uv run --no-sync ruff format --check .
	@if [ -f rust/Cargo.toml ]; then cargo clippy --release --all-targets --features bert --manifest-path rust/Cargo.toml -- -D warnings; fi

bench:  ## print the benchmark figures (see benchmarks/)
	@for b in benchmarks/bench_*.py; do uv run --no-sync python $$b; done
