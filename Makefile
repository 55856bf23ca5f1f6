# The two commands of the README: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: run test install infra-up infra-down infra-status lint format typecheck contracts \
        contracts-check unit integration bench token

run: install infra-up  ## install, start RabbitMQ + MongoDB (FerretDB), start every service
	$(PY) -m deploy.run

test: install infra-up lint typecheck contracts-check  ## install, start infrastructure, run every check and test
	$(PY) -m pytest -q --durations=15 tests

install:
	@bash deploy/setup.sh

infra-up:
	@bash deploy/infra.sh up

infra-down:
	@bash deploy/infra.sh down

infra-status:
	@bash deploy/infra.sh status

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

typecheck: install
	.venv/bin/mypy services contracts

contracts: install  ## regenerate contracts/schemas, contracts/asyncapi.json and the k8s manifests
	$(PY) -m contracts.generate
	$(PY) deploy/k8s/generate.py

contracts-check: install
	$(PY) -m contracts.generate --check
	$(PY) deploy/k8s/generate.py --check

unit: install
	$(PY) -m pytest -q tests/unit

integration: install infra-up
	$(PY) -m pytest -q tests/integration

bench: install infra-up  ## throughput and latency of the outbox, payments, notifier and a request end to end, each beside a baseline; growth from 1k to 10k requests
	$(PY) -m bench.outbox
	$(PY) -m bench.payments
	$(PY) -m bench.notifier
	$(PY) -m bench.requests
	$(PY) -m bench.growth

token: install  ## make token SUB=citizen-1 ROLES=citizen
	@$(PY) -m services.common.devtoken --sub "$(or $(SUB),citizen-1)" --roles "$(or $(ROLES),citizen)"
