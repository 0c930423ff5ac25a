# Two commands matter: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: install demo test test-unit test-infra test-e2e load sandbox synth synth-check lint format bench deploy diff clean

# The venv is rebuilt when a requirements file changes; node_modules when the lock file does.
$(VENV)/.installed: requirements.txt requirements-dev.txt layers/imaging/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

demo: install ## Run the whole pipeline on an embedded AWS (moto) and write a thumbnail gallery
	$(PY) -m local.demo $(if $(IMAGES),--images "$(IMAGES)")

test: install ## All tests: unit, infra (template + cdk-nag + cfn-lint), layer build, e2e in moto
	$(PY) -m pytest -n 2 --dist loadfile -q

test-unit: install
	$(PY) -m pytest tests/unit -q

test-infra: install
	$(PY) -m pytest tests/infra tests/layer -q

test-e2e: install
	$(PY) -m pytest tests/e2e -q

load: install ## A burst of 2,000 uploads through the pipeline deployed in moto: all complete, none lost or written twice
	$(PY) -m local.load --uploads $(or $(UPLOADS),2000)

sandbox: install ## moto's server on localhost with the stack deployed and originals to backfill; try the `thumbnails` CLI
	$(PY) -m local.sandbox $(if $(PORT),--port $(PORT))

synth: install ## Synthesize with the real layer build, CloudFormation validation and cdk-nag
	$(CDK) synth --quiet

synth-check: synth ## What CI runs once: validated synth, then cfn-lint on the result
	$(VENV)/bin/cfn-lint --non-zero-exit-code warning cdk.out/ThumbnailPipeline.template.json  # settings: .cfnlintrc.yaml

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install ## Engine vs naive Pillow on generated inputs; prints ratios
	$(PY) -m bench

diff: install
	$(CDK) diff

deploy: install ## Deploy into the AWS account of your current credentials (cdk bootstrap first)
	$(CDK) deploy

clean:
	rm -rf cdk.out out .pytest_cache .ruff_cache
