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

.PHONY: install demo test lint typecheck unit bench corpus build deploy package publish clean

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist .aws-sam packaged.yaml
