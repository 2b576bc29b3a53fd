# 商会助手 — the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-pg bench lint init clean

$(STAMP): requirements.txt
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { echo "python3-venv is missing: sudo apt-get install -y python3-venv"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

## Serve the bot with embedded Redis, SQLite, the WeChat API sandbox and a worker.
run: $(STAMP)
	$(PY) -m bot.dev.launcher

## Create/migrate the database and load starter content.
init: $(STAMP)
	$(VENV)/bin/flask --app wsgi init

## The whole test suite (SQLite; set TEST_DATABASE_URL for PostgreSQL).
test: $(STAMP)
	$(PY) -m pytest -q

test-pg: $(STAMP)
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(PY) -m pytest -q

## Benchmarks: the webhook under gunicorn + wrk against a bare echo webhook, the knowledge
## base on a synthetic 10,000-entry base, then a template notice to 100,000 followers with a
## worker killed half-way. Needs wrk (apt-get install wrk).
## All run even when one misses a goal; the exit status says whether all were met.
bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: sudo apt-get install -y wrk"; exit 1; }
	$(PY) -m bench.run --rounds 3; status=$$?; $(PY) -m bench.kb_bench || status=1; \
	$(PY) -m bench.notices_bench || status=1; exit $$status

## ruff, formatting, mypy (strict on bot/ and handlers/) and the import contracts of pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) instance
