# zt-toolkit — the two commands a newcomer runs:
#   make demo   demo snapshot → assessment → seven executed notebooks → reports/acme-shop/<date>/
#   make test   the whole test suite (unit, check cases, golden findings, notebooks)
# Both create .venv and install the project into it when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CLIENT ?= Acme Shop

.PHONY: demo test venv browser bench bench-report lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# Chromium draws the charts as vector SVG (kaleido) and prints the PDF report; the Liberation
# fonts are the report's font; poppler-utils (pdftoppm, pdftotext) lets the tests read the PDF.
# Installed from Debian when run as root with apt-get, else explained (scripts/ensure-browser.sh).
browser:
	@bash scripts/ensure-browser.sh

demo: venv browser
	$(BIN)/zt demo --out reports/demo-snapshot --force
	$(BIN)/zt report reports/demo-snapshot --client "$(CLIENT)" --config examples/acme-shop.yaml

test: venv browser
	$(BIN)/python -m pytest -n 2 --dist loadfile
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:randomly notebooks/

bench: venv
	$(BIN)/python benchmarks/bench_assess.py

# per-client report (notebooks + PDF) ×3 and a batch of 10 demo clients with --jobs 2
bench-report: venv browser
	$(BIN)/python benchmarks/bench_report.py

lint: venv
	$(BIN)/ruff check zt_toolkit tests benchmarks

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
