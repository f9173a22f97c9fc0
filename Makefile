# pin-versions: every command a newcomer needs. Each target creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# sam CLI settings for build/deploy/package/publish (override on the command line).
STACK_NAME ?= pin-versions-macro
MACRO_NAME ?= PinVersions
REGION     ?= $(shell aws configure get region 2>/dev/null || echo us-east-1)
S3_BUCKET  ?=
SAM        ?= sam

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
	$(BIN)/python -m pin_versions.corpus ../shared/corpus

bench: $(STAMP)
	$(BIN)/python bench/bench.py

build:
	$(SAM) build --template-file template.yaml

deploy: build
	$(SAM) deploy --stack-name $(STACK_NAME) --region $(REGION) \
	  --parameter-overrides MacroName=$(MACRO_NAME) --capabilities CAPABILITY_IAM --resolve-s3

package: build
	$(SAM) package --region $(REGION) $(if $(S3_BUCKET),--s3-bucket $(S3_BUCKET),--resolve-s3) \
	  --output-template-file packaged.yaml

publish: package
	$(SAM) publish --template packaged.yaml --region $(REGION)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist .aws-sam packaged.yaml
