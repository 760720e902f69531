# hermit — the developer entry points. See README.md.
PYTHON ?= /usr/bin/python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: dev demo test lint bench clean

# The C programs: each sub-make rebuilds only what changed.
dev: $(STAMP)
	$(MAKE) -s -C sshkeys-helper
	$(MAKE) -s -C nss_module
	$(MAKE) -s -C pam_module

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

lint: dev
	$(VENV)/bin/ruff check idmd hermit_cli unixd tests contrib
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -q

demo: dev
	$(PY) contrib/demo/demo.py

# The benchmarks need wrk (apt-get install wrk); unixd's runs as root (it creates users' homes).
bench: dev
	$(PY) contrib/bench/idmd_bench.py
	$(PY) contrib/bench/unixd_bench.py
	$(PY) contrib/bench/sshkeys_helper_bench.py

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache
