# aiphone-hardening — every entry point a user or CI needs. Each target sets up what it needs itself.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONPATH := $(CURDIR)/collections:$(CURDIR)
export CONTAINERS_CONF ?= $(CURDIR)/lab/containers/containers.conf
# The LAB-ONLY vault password (it protects simulated devices only); a real site passes its own --vault-id.
export ANSIBLE_VAULT_IDENTITY_LIST ?= lab@$(CURDIR)/inventories/lab/vault-password.txt
SITE ?= inventories/lab
SIZE ?= small
RUN_DIR ?= $(CURDIR)/run

.PHONY: help setup setup-python lint test test-unit test-integration test-molecule demo validate \
        lab-up lab-down lab-status bench build ee audit-verify detections clean

help:
	@echo "make demo                     run the toolkit against the simulated lab site (sets itself up)"
	@echo "make test                     lint + every test (pytest + molecule); what CI runs"
	@echo "make validate SITE=inventories/<site>   check a site policy, touching no device"
	@echo "make lab-up [SIZE=small|N] / lab-down   start / stop the simulated site"
	@echo "make bench                    benchmarks (speed and scale)"
	@echo "make ee                       build the execution environment (podman, offline) and run the audit in it"
	@echo "make audit-verify SITE=...    verify the hash chain of a site's audit trail"
	@echo "make detections               compile the Sigma rules (detections/sigma) for Splunk and SQLite"

setup:
	@bash scripts/setup.sh

# Python only (no podman images): enough for lint, unit tests and validation.
setup-python:
	@AIPHONE_SKIP_IMAGES=1 bash scripts/setup.sh

lint: setup-python
	$(VENV)/bin/yamllint -s .
	$(VENV)/bin/ruff check .
	$(PY) -m scripts.check_plaintext_secrets inventories
	$(VENV)/bin/ansible-lint --profile production --offline

validate: setup-python
	$(PY) -m scripts.validate_policy $(SITE)

# The integration tests and the molecule scenarios run side by side (scripts/test-suites.sh): most of their time
# is spent waiting on SSH, reloads and containers, not on the two cores.
test: setup lint test-unit
	@MOLECULE_SCENARIOS="$(MOLECULE_SCENARIOS)" bash scripts/test-suites.sh

test-unit: setup-python
	$(VENV)/bin/pytest -q tests/unit tests/conformance

test-integration: setup
	$(VENV)/bin/pytest -q --durations=25 tests/integration

# Every scenario under molecule/ by default; MOLECULE_SCENARIOS="network_lab" runs a subset.
MOLECULE_SCENARIOS ?= network_lab hosts_security hosts_baseline
test-molecule: setup
	@bash scripts/run-molecule.sh $(MOLECULE_SCENARIOS)

lab-up: setup
	$(PY) -m lab up --size $(SIZE) --run-dir $(RUN_DIR)

lab-down:
	$(PY) -m lab down --run-dir $(RUN_DIR)

lab-status:
	$(PY) -m lab status --run-dir $(RUN_DIR)

demo: setup
	@bash scripts/demo.sh

bench: setup
	@bash scripts/bench.sh

build: setup-python
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .cache/dist .

# The execution environment (ansible-builder, the lab's local Debian base image, wheels from PyPI, collections out
# of the pinned ansible wheel; minutes the first time), then ansible-runner runs playbooks/audit.yml in it against
# the lab (tests/integration/ee). EE_FORCE=1 rebuilds an existing image.
ee: setup
	@bash scripts/ee/build.sh
	AIPHONE_EE_REQUIRED=1 $(VENV)/bin/pytest -q tests/integration/ee

# Compile detections/sigma with pySigma into detections/compiled (Splunk app, SQLite queries); commit the result.
detections: setup-python
	$(PY) -m scripts.compile_detections

audit-verify: setup-python
	$(PY) -m scripts.audit_verify $(SITE)

clean:
	rm -rf .cache/dist reports run
