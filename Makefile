# Prequel Portal — two commands: `make run` and `make test`.
SHELL := /bin/bash
# the first Python 3.11+ found (pyenv shims of missing versions fail the check and are skipped)
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := -e libs/common -e services/api -e "services/provisioner[local-ide]" -e services/scheduler -e services/events-gateway
PYPROJECTS := libs/common/pyproject.toml $(wildcard services/*/pyproject.toml) requirements/dev.txt

.PHONY: install run test test-fast lint typecheck tf-check checkov bench clean

$(STAMP): $(PYPROJECTS)
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required (python3, python3.11, ... on PATH)"; exit 1; }
	@command -v terraform >/dev/null || { echo "the terraform CLI is required on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PACKAGES) -r requirements/dev.txt
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install every package and tool

run: install ## NATS, Redis, the four services and the front door on http://localhost:3000
	$(BIN)/python dev/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy libs/common/src services/api/src services/provisioner/src services/scheduler/src services/events-gateway/src dev

tf-check:
	terraform fmt -check -recursive terraform
	terraform fmt -check -recursive tests/fixtures

# checkov has heavy pinned dependencies: its own venv, so it never clashes with .venv
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
$(CHECKOV_VENV)/.installed:
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required (python3, python3.11, ... on PATH)"; exit 1; }
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"
	@touch $@

checkov: $(CHECKOV_VENV)/.installed ## static security checks of terraform/ and the Dockerfiles (0 failed checks)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform --directory terraform
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework dockerfile $(addprefix --file ,$(wildcard services/*/Dockerfile))

test: install lint typecheck tf-check checkov ## every check and every test tier
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not e2e"

bench: install ## every benchmark; writes bench/results.md and bench/charts/*.png
	$(BIN)/python -m pip install --quiet -r requirements/bench.txt
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) .venv-checkov .run .pytest_cache .mypy_cache .ruff_cache
