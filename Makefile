# Two commands matter: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: install demo test test-unit test-infra test-e2e synth synth-check lint format bench deploy diff clean

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

synth: install node-check ## Synthesize with the real layer build, CloudFormation validation and cdk-nag
	$(CDK) synth --quiet $(CDK_CONTEXT)

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
	rm -rf cdk.out out .pytest_cache .ruff_cache
