# pin-versions: every command a newcomer needs. Each target creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# sam CLI settings for build/deploy/package/publish (override on the command line, e.g.
# `make deploy REGION=eu-west-1`); everything else comes from samconfig.toml. An empty REGION
# lets sam resolve it as the AWS CLI does (AWS_REGION, the profile). S3_BUCKET is for package
# and publish: sam publish needs a bucket the Serverless Application Repository can read.
STACK_NAME ?= pin-versions-macro
MACRO_NAME ?= PinVersions
REGION     ?=
S3_BUCKET  ?=
SAM        ?= sam
PYTHON313  ?= python3.13
SAM_REGION  = $(if $(REGION),--region $(REGION))

.PHONY: install demo test lint typecheck unit bench corpus build deploy package publish stackset clean

install: $(STAMP)

$(STAMP): pyproject.toml macro/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pin-versions needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo

lint: $(STAMP)
	$(BIN)/ruff check macro tests demo
	$(BIN)/ruff format --check macro tests demo
	$(BIN)/mypy
	$(BIN)/mypy demo

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2

test: lint unit

corpus: $(STAMP)
	$(BIN)/python tests/corpus_run.py

bench: $(STAMP)
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/vs.py $(if $(VS),--ref $(VS))

# macro/Makefile compiles the bundle's bytecode with the runtime's Python; sam passes its
# environment to that make, so PYTHON reaches it.
build:
	PYTHON=$(PYTHON313) $(SAM) build --template-file template.yaml

deploy: build
	$(SAM) deploy --stack-name $(STACK_NAME) $(SAM_REGION) \
	  --parameter-overrides MacroName=$(MACRO_NAME)

# No bucket default in samconfig.toml: with resolve_s3 there, --s3-bucket would be an error.
package: build
	$(SAM) package $(SAM_REGION) $(if $(S3_BUCKET),--s3-bucket $(S3_BUCKET),--resolve-s3) \
	  --output-template-file packaged.yaml

ifneq ($(filter publish,$(MAKECMDGOALS)),)
ifeq ($(S3_BUCKET),)
$(error make publish needs S3_BUCKET: a bucket whose policy lets serverlessrepo.amazonaws.com s3:GetObject (see docs/integrations.md))
endif
endif

publish: package
	$(SAM) publish --template packaged.yaml $(SAM_REGION)

# StackSet templates of the macro (and, with PRUNE_STACK_NAME, the scheduled prune job) for an
# AWS Organization, and the aws commands that deploy them: see docs/integrations.md,
# "Organizations". Builds each function's bundle with its own macro/Makefile recipe
# (python3.13 and pip, as `make build`): the macro's (the core alone) always, the prune job's
# (core and prune/) when PRUNE_STACK_NAME asks for the job; each is its own zip under its own
# content hash,
# writes everything under STACKSET_OUT, and sends nothing to AWS. STACKSET_ARGS passes more
# options (--home-region, --delegated-admin, --macro-parameter K=V, --prune-parameter K=V).
REGIONS          ?=
BUCKET_PREFIX    ?=
ORGANIZATION_ID  ?=
OU_IDS           ?=
PRUNE_STACK_NAME ?=
STACKSET_ARGS    ?=
STACKSET_OUT     ?= build/stackset
STACKSET_BUNDLE   = $(abspath $(STACKSET_OUT))/bundle
STACKSET_PRUNE_BUNDLE = $(abspath $(STACKSET_OUT))/prune-bundle

ifneq ($(filter stackset,$(MAKECMDGOALS)),)
ifeq ($(and $(REGIONS),$(BUCKET_PREFIX),$(ORGANIZATION_ID),$(OU_IDS)),)
$(error make stackset needs REGIONS, BUCKET_PREFIX, ORGANIZATION_ID and OU_IDS, e.g. REGIONS="us-east-1 eu-west-1" BUCKET_PREFIX=acme-pin-versions ORGANIZATION_ID=o-... OU_IDS="ou-... r-..." (see docs/integrations.md, Organizations))
endif
endif

stackset: $(STAMP)
	rm -rf $(STACKSET_BUNDLE) $(STACKSET_PRUNE_BUNDLE)
	$(MAKE) -C macro build-MacroFunction ARTIFACTS_DIR=$(STACKSET_BUNDLE) PYTHON=$(PYTHON313)
	$(if $(PRUNE_STACK_NAME),$(MAKE) -C macro build-PruneFunction \
	  ARTIFACTS_DIR=$(STACKSET_PRUNE_BUNDLE) PYTHON=$(PYTHON313))
	$(BIN)/python -m pin_versions.stackset --bundle $(STACKSET_BUNDLE) --out $(STACKSET_OUT) \
	  $(if $(PRUNE_STACK_NAME),--prune-bundle $(STACKSET_PRUNE_BUNDLE)) \
	  --regions $(REGIONS) --bucket-prefix $(BUCKET_PREFIX) \
	  --organization-id $(ORGANIZATION_ID) --targets $(OU_IDS) \
	  --macro-parameter MacroName=$(MACRO_NAME) \
	  $(if $(PRUNE_STACK_NAME),--prune-parameter StackName=$(PRUNE_STACK_NAME)) $(STACKSET_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist .aws-sam packaged.yaml
