# Two commands matter: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

# Every Python package, transitive ones included, pinned with hashes for every platform and Python >= 3.11.
# `make lock` regenerates it from pyproject.toml and keeps the current pins wherever they still fit;
# `make lock UPGRADE=1` moves everything to the newest versions the ranges allow.
LOCK := requirements.lock
# uv resolves the lock and installs from it. It is bootstrapped at the version the lock pins, hash-checked,
# into a venv of its own under $(TOOLS)/ that outlives .venv. `make install INSTALLER=pip` (after removing
# .venv) installs the same lock with pip instead.
INSTALLER ?= uv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := $(shell sed -n 's/^uv==\([^ ;]*\).*/\1/p' $(LOCK))
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
# The editable install is built without build isolation, by the setuptools the lock pins: the lock covers
# pyproject.toml's build-system requirements too, which are fed to the resolver on stdin.
BUILD_REQUIRES := $(PYTHON) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')"
LOCK_COMPILE := $(BUILD_REQUIRES) | $(UV) pip compile - pyproject.toml --extra dev --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" --quiet

# checkov pins boto3 1.35, which this project outgrew: it lives in a venv of its own, from a hashed lock of its own.
SCAN_LOCK := requirements-scan.lock
CHECKOV_VENV := $(TOOLS)/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: install lock lock-check scan scan-lock demo test test-unit test-infra test-e2e load sandbox synth synth-check lint typecheck format bench deploy diff clean

install: $(VENV)/.editable node_modules/.installed $(CHECKOV_VENV)/.installed

# The venv is rebuilt from scratch when the lock changes, so it holds exactly what the lock pins.
$(VENV)/.installed: $(LOCK) $(if $(filter uv,$(INSTALLER)),$(UV_STAMP))
	@echo "==> [python 1/3] Creating $(VENV)/ from scratch ($(INSTALLER))"
	rm -rf $(VENV)
ifeq ($(INSTALLER),uv)
	$(UV) venv --quiet --python $(PYTHON) --python-preference only-system $(VENV)
	@echo "==> [python 2/3] Installing every package $(LOCK) pins, hashes checked (uv)"
	$(UV) pip sync --python $(PY) --require-hashes $(LOCK)
else
	$(PYTHON) -m venv $(VENV)
	@echo "==> [python 2/3] Installing every package $(LOCK) pins, hashes checked (pip)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar off --no-deps --require-hashes -r $(LOCK)
endif
	touch $@

# thumbnailer (functions/thumbnailer), stacks, local and bench, importable under those names from anywhere.
$(VENV)/.editable: $(VENV)/.installed pyproject.toml
	@echo "==> [python 3/3] Installing this project editable, without its dependencies (already locked in)"
ifeq ($(INSTALLER),uv)
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation --editable .
else
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
endif
	$(PY) -m pip --version  # the layer build runs this venv's pip
	touch $@

$(UV_STAMP):
	@test -n "$(UV_VERSION)" || { echo "$(LOCK) pins no uv (uv==...): it comes from pyproject.toml's dev extra" >&2; exit 1; }
	@echo "==> [uv] Bootstrapping uv $(UV_VERSION), hash-checked against $(LOCK), into $(TOOLS)/ with $(PYTHON)'s pip"
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	awk '/^uv==/ {keep = 1; print; next} keep && /^ / {print; next} {keep = 0}' $(LOCK) > $(TOOLS)/uv-requirement.txt
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		--requirement $(TOOLS)/uv-requirement.txt
	touch $@

$(CHECKOV_VENV)/.installed: $(SCAN_LOCK) $(UV_STAMP)
	@echo "==> [checkov] Installing every package $(SCAN_LOCK) pins into $(CHECKOV_VENV)/, hashes checked (uv)"
	rm -rf $(CHECKOV_VENV)
	$(UV) venv --quiet --python $(PYTHON) --python-preference only-system $(CHECKOV_VENV)
	$(UV) pip sync --quiet --python $(CHECKOV_VENV)/bin/python --require-hashes $(SCAN_LOCK)
	touch $@

scan-lock: $(UV_STAMP) ## Re-resolve requirements-scan.lock (checkov) from requirements-scan.in
	$(UV) pip compile requirements-scan.in --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make scan-lock" --quiet --output-file $(SCAN_LOCK)

node_modules/.installed: package.json package-lock.json
	@echo "==> [node] Installing the CDK CLI from package-lock.json (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lock: $(UV_STAMP) ## Re-resolve requirements.lock after changing pyproject.toml's dependencies
	@echo "==> Resolving pyproject.toml (dependencies, dev extra, build requirements) into $(LOCK), with hashes"
	$(LOCK_COMPILE) $(if $(UPGRADE),--upgrade) --output-file $(LOCK)
	@$(MAKE) --no-print-directory lock-check

lock-check: $(UV_STAMP) ## The lock agrees with pyproject.toml and with the layer's exact pins
	@echo "==> Checking $(LOCK) pins what layers/imaging/requirements.txt pins"
	@grep -E '^[A-Za-z0-9._-]+==' layers/imaging/requirements.txt | while read -r pin _; do \
		grep -qiE "^$${pin//./\\.}( |$$)" $(LOCK) || { echo "$(LOCK) does not pin $$pin, which the layer installs" >&2; exit 1; }; \
	done
	@echo "==> Checking $(LOCK) is what pyproject.toml resolves to (else: make lock)"
	@cp $(LOCK) $(TOOLS)/lock-check.txt
	@$(LOCK_COMPILE) --output-file $(TOOLS)/lock-check.txt
	@diff -u $(LOCK) $(TOOLS)/lock-check.txt

demo: install ## Run the whole pipeline on an embedded AWS (moto) and write a thumbnail gallery (IMAGES=, OUT=)
	$(PY) -m local.demo $(if $(IMAGES),--images "$(IMAGES)") $(if $(OUT),--out "$(OUT)")

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

synth: install node-check ## Synthesize with the real layer build, CloudFormation validation and cdk-nag
	$(CDK) synth --quiet $(CDK_CONTEXT)

synth-check: synth ## What CI runs once: validated synth, then cfn-lint on the result
	$(VENV)/bin/cfn-lint --non-zero-exit-code warning cdk.out/ThumbnailPipeline.template.json  # settings: .cfnlintrc.yaml

# cdk-nag (AwsSolutions and Serverless packs) already ran inside the synth; checkov reads .checkov.yaml, its one
# skip file. The tests run both over every option combination; this is the real synth CI deploys from.
scan: synth-check ## checkov over the validated synth (cdk-nag runs in synth); a finding not skipped in .checkov.yaml fails
	$(CHECKOV) --config-file .checkov.yaml --file cdk.out/ThumbnailPipeline.template.json

lint: install lock-check ## ruff (lint + format), mypy (strict for functions/, stacks/, operations/, local/, bench/), the lock
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install ## Engine vs naive Pillow on generated inputs; prints ratios
	$(PY) -m bench

diff: install node-check aws-check ## What `make deploy` would change in the account of your credentials
	$(CDK) diff $(CDK_CONTEXT)

deploy: install node-check aws-check ## Deploy into the account of your credentials (STACK=, OVERRIDES=; bootstrap first)
	$(CDK) deploy $(CDK_CONTEXT) $(CDK_FLAGS)

# ------------------------------------------------------------------------------------------------------------
# The CDK CLI against a real account, the local cloud, the smoke test, help and cleanup.
# STACK=<name> deploys/destroys another copy of the stack (context stackName); OVERRIDES='<json>' is merged
# over cdk.json's `thumbnails`; CDK_FLAGS passes anything else to the CLI.
.DEFAULT_GOAL := help
# The CDK CLI's AWS SDK prints a multi-line Node-support banner on Node 20; `make node-check` says it in one line.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED := true
.PHONY: help node-check aws-check bootstrap destroy local-up local-down local-logs local-status local-env \
	smoke smoke-disposable empty-buckets distclean
STATE := .local-cloud
PORT ?= 4599
CDK_CONTEXT = $(if $(STACK),-c stackName=$(STACK)) $(if $(OVERRIDES),-c thumbnailsOverrides='$(OVERRIDES)')

help: ## List the targets (this text)
	@echo "make <target>: the two that matter are \`make demo\` and \`make test\`"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z0-9_-]+:[^=]*## / && !seen[$$1]++ \
		{printf "  %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# One-line help for targets defined above without a `## ` comment (a rule line with no recipe adds nothing).
install: ## Create .venv/ and node_modules/ (every target that needs them runs this first)
test-unit: ## Unit tests only (imaging, function, service with moto S3)
test-infra: ## Template, IAM, cdk-nag, cfn-lint and layer-build tests only
test-e2e: ## The template deployed into in-process moto, uploads flowing end to end
lint: ## Lint and format checks
format: ## Reformat and autofix
clean: ## Remove build outputs (cdk.out, out/, test caches)

node-check: ## Check Node for the CDK CLI (20+ required, 22 recommended)
	@$(PYTHON) -m local.preflight node

aws-check: install ## Check that AWS credentials and a region are set (boto3's chain; nothing is called)
	@$(PY) -m local.preflight aws

bootstrap: install node-check aws-check ## cdk bootstrap: once per account and region
	$(CDK) bootstrap $(CDK_CONTEXT)

destroy: install node-check aws-check ## Delete the stack (STACK=); empties its buckets first only if they are disposable
	$(PY) -m local.teardown --stack $(STACK)
	$(CDK) destroy --force $(CDK_CONTEXT)

empty-buckets: install aws-check ## Empty retained buckets after a destroy: BUCKETS="a b" (DELETE=1 deletes them too)
	@test -n "$(BUCKETS)" || { echo 'error: name them: make empty-buckets BUCKETS="bucket-a bucket-b"' >&2; exit 2; }
	$(PY) -m local.teardown --bucket $(BUCKETS) --yes $(if $(DELETE),--delete)

local-up: install ## Start moto on localhost:PORT, cdk bootstrap + deploy into it, run the function; again: redeploy
	@$(PY) -m local.cloud --state-dir $(STATE) up --port $(PORT) $(if $(STACK),--stack $(STACK)) \
		$(if $(OVERRIDES),--overrides '$(OVERRIDES)')

local-down: ## Stop every process local-up started (by recorded PID)
	@$(PY) -m local.cloud --state-dir $(STATE) down

local-logs: ## Follow the local function's JSON logs
	@$(PY) -m local.cloud --state-dir $(STATE) logs

local-status: ## What local-up started, and whether it still runs
	@$(PY) -m local.cloud --state-dir $(STATE) status

local-env: ## Print export lines for the local cloud: eval "$(make -s local-env)"
	@$(PY) -m local.cloud --state-dir $(STATE) env

smoke: install ## Post-deploy checks: the local cloud if one runs (LOCAL=0: your credentials' account), STACK=
	@if [ "$(LOCAL)" != 0 ] && [ -z "$$AWS_ENDPOINT_URL" ] && [ -f $(STATE)/env ]; then \
		echo "==> against the local cloud ($(STATE)/env); LOCAL=0 targets your credentials' account"; . ./$(STATE)/env; \
	else $(PY) -m local.preflight aws || exit 1; fi; \
	$(PY) -m local.smoke $(if $(STACK),--stack $(STACK))

smoke-disposable: install node-check aws-check ## Deploy a uniquely named disposable stack, smoke it, destroy it whatever happened
	$(PY) -m local.disposable $(if $(STACK),--stack $(STACK)) $(if $(DRY_RUN),--dry-run)

distclean: clean ## clean, and stop the local cloud, and remove .venv, node_modules, caches, .tools, .local-cloud
	-@test -x $(PY) && $(PY) -m local.cloud --state-dir $(STATE) down 2>/dev/null || true
	rm -rf $(VENV) node_modules .tools $(STATE) .hypothesis .mypy_cache .pytest_cache .ruff_cache bench/.inputs
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean:
	rm -rf cdk.out out .pytest_cache .ruff_cache .mypy_cache
