# The two commands of the README: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: run test install infra-up infra-down infra-status lint format typecheck contracts \
        contracts-check k8s-check lock lock-check unit integration bench token smsc smsc-run \
        node-subscriber

run: install infra-up  ## install, start RabbitMQ + MongoDB (FerretDB), start every service
	$(PY) -m deploy.run

# The suite runs in TEST_WORKERS processes (pytest-xdist; each worker on a RabbitMQ virtual host of
# its own, a module's tests on one worker), then the tests that stop or kill the broker, alone.
TEST_WORKERS ?= 2
test: install lock-check infra-up smsc node-subscriber lint typecheck contracts-check k8s-check  ## install, start infrastructure, run every check and test
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not disruptive" --durations=15 tests
	$(PY) -m pytest -q -p no:xdist -m disruptive --durations=5 tests

install:
	@bash deploy/setup.sh

SMSC_DIR := tests/integration/notifier/smsc
smsc:  ## the test SMSC (npm's smpp server) of the notifier's SMPP tests, installed exactly by its lock file
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	@npm ci --prefix $(SMSC_DIR) --no-audit --no-fund --loglevel=error

smsc-run: smsc  ## a local SMSC for `make run` with NOTIFIER_GATEWAY=smpp (services/notifier/README.md)
	node $(SMSC_DIR)/smsc.js --port $(or $(SMSC_PORT),2775) --control-port $(or $(SMSC_CONTROL_PORT),2776) \
	  --system-id amman --password secret

NODE_SUBSCRIBER_DIR := contracts/examples/node-subscriber
node-subscriber:  ## the Node.js reference subscriber (npm's amqplib, ajv), installed exactly by its lock file
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	@npm ci --prefix $(NODE_SUBSCRIBER_DIR) --no-audit --no-fund --loglevel=error

lock:  ## regenerate uv.lock (and uv's own pins) after changing pyproject.toml's dependencies
	@bash deploy/lock.sh

lock-check: install  ## fail when uv.lock does not match pyproject.toml
	.venv/bin/uv lock --check

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

k8s-check: install  ## render both overlays, validate them offline (schemas, CRDs, kube-score, settings, promtool)
	$(PY) deploy/k8s/check.py

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
