# Partner Management API: `make test` checks everything; `make run` serves it locally.
SHELL := /bin/bash
PYTHON313 ?= $(shell tools/find-python313)
VENV := .venv
BIN := $(abspath $(VENV)/bin)
# sam build looks for python3.13 on PATH: the virtualenv's comes first.
export PATH := $(BIN):$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export SAM_CLI_CONTAINER_CONNECTION_TIMEOUT := 1

.PHONY: install lint typecheck pytest validate build test bench openapi scim-discovery fuzz operator-credential clean run

$(VENV)/.installed: requirements-dev.txt constraints.txt layers/shared/requirements.txt
	@test -n "$(PYTHON313)" || { echo "error: Python 3.13 not found (install it, or set PYTHON313=/path/to/python3.13)"; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $@

# Swagger UI's assets for GET /docs (docs/package.json); the stamp lives in node_modules, so it
# goes when they do. Their source maps are never served: dropped, so they stay out of sam build.
DOCS_INSTALLED := docs/node_modules/.installed
$(DOCS_INSTALLED): docs/package.json docs/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found (install Node.js 20 or later, with npm)"; exit 1; }
	npm ci --prefix docs --ignore-scripts --no-audit --no-fund
	find docs/node_modules/swagger-ui-dist -name '*.map' -delete
	@touch $@

install: $(VENV)/.installed $(DOCS_INSTALLED)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy layers/shared/partner_api

# One worker per core (pytest-xdist): each starts its own local run for the e2e tests.
pytest: install
	$(BIN)/pytest -n auto

validate: install
	$(BIN)/sam validate --lint --template template.yaml

build: install
	$(BIN)/sam build --template template.yaml --parallel

test: lint typecheck pytest validate build

bench: install
	$(BIN)/python benchmarks/bench.py

# docs/openapi.json from the routes the functions declare (a test fails when it is out of date).
openapi: install
	$(BIN)/python tools/openapi.py

# The SCIM discovery documents, built from scim2-models (the functions serve the committed JSON).
scim-discovery: install
	$(BIN)/python tools/scim_discovery.py

# schemathesis against a fresh local run, longer than make test's pass: SEED=... and EXAMPLES=... to vary.
EXAMPLES ?= 200
fuzz: install
	$(BIN)/python tools/fuzz.py --max-examples $(EXAMPLES) $(if $(SEED),--seed $(SEED))

# Create the first operator credential of a deployed stack: make operator-credential STACK=partner-api-dev
operator-credential: install
	@test -n "$(STACK)" || { echo "usage: make operator-credential STACK=<stack name> [REGION=...]"; exit 2; }
	$(BIN)/python tools/create_operator_credential.py --stack-name "$(STACK)" $(if $(REGION),--region "$(REGION)")

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache docs/node_modules

# The whole API on http://127.0.0.1:$(PORT) over moto; Ctrl-C stops it.
PORT ?= 3000
run: install
	@PORT=$(PORT) $(BIN)/python -m local.run
