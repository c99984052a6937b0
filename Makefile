# The two commands a newcomer runs (see README.md): `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
# MediaPipe's real face weights where the project's shared folder has them (the demo's real face)
export SKPERSONA_MEDIAPIPE_MODEL ?= $(abspath $(wildcard ../shared/models/mediapipe/face_landmarker_v2_with_blendshapes.task))

.PHONY: demo test install install-test lint unit docs bench clean

demo: install  ## install the library and run the end-to-end demo
	$(VENV)/bin/skpersona demo --output demo_output

test: install-test lint unit  ## install test dependencies, lint, run every test
	@echo "all checks passed"

install:
	VENV=$(VENV) bash scripts/install.sh core

install-test:
	VENV=$(VENV) bash scripts/install.sh test

lint:
	$(PY) -m ruff check skpersona tests examples benchmarks

unit:
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

docs:
	$(PY) -m sphinx -W --keep-going -b html doc doc/_build/html

clean:
	rm -rf build dist *.egg-info doc/_build doc/auto_examples doc/generated doc/api.rst doc/cli_help demo_output .pytest_cache .ruff_cache
