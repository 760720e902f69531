# hermit — the developer entry points. See README.md.
PYTHON ?= /usr/bin/python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: deps dev demo test lint bench fuzz clean install install-python

# The Debian packages of packaging/debian-packages.txt (checked with dpkg-query): as root the
# missing ones are installed, with no service started or left enabled; otherwise it prints the
# one apt-get line to run and stops. BENCH=1 adds make bench's.
deps:
	@packaging/debian-deps $(if $(BENCH),bench)

# The C programs: each sub-make rebuilds only what changed. Before .venv is (re)built, one that
# a make dev did not finish (no stamp), that was built in another directory (the clone moved:
# its scripts name the old path) or whose python or pip no longer runs is removed.
dev: deps
	@if [ -e $(VENV) ]; then \
		built_in=$$(cat $(STAMP) 2>/dev/null || true); \
		if [ ! -e $(STAMP) ]; then \
			echo "make dev: .venv is half-built (an earlier make dev stopped): building it again"; \
			rm -rf $(VENV); \
		elif [ "$$built_in" != "$(CURDIR)" ]; then \
			echo "make dev: .venv was built for $${built_in:-an unrecorded directory}, not $(CURDIR) (a moved clone's venv still names its old path): building it again"; \
			rm -rf $(VENV); \
		elif ! $(PY) -m pip --version >/dev/null 2>&1; then \
			echo "make dev: .venv's python or pip does not run: building it again"; \
			rm -rf $(VENV); \
		fi; \
	fi
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(MAKE) -s -C sshkeys-helper
	$(MAKE) -s -C nss_module
	$(MAKE) -s -C pam_module

# The stamp, holding the directory .venv was built in, is written only once all went well.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || { echo "make dev: creating .venv from $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "make dev: installing hermit and its test tools into .venv (pip, about a minute the first time)"
	$(PY) -m pip install -q --upgrade pip
	@# setuptools' notice that an editable install imports from the clone: that is its purpose.
	PYTHONWARNINGS='ignore:Editable installation' \
		$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	echo "$(CURDIR)" > $(STAMP)

lint: dev
	$(VENV)/bin/ruff check idmd hermit_cli unixd hermit_common tests contrib
	$(VENV)/bin/mypy

# make test also needs the packages tagged test (Chromium, for the browser tests).
test: lint
	@packaging/debian-deps test
	$(VENV)/bin/pytest -q

demo: dev
	$(PY) contrib/demo/demo.py

# The fuzz targets of tests/fuzz (README.md there), one at a time, FUZZ_SECONDS each; the C ones
# need clang and libclang-rt-dev. FUZZ_TARGETS picks some (default: all). New inputs and
# crashes go to build/fuzz/work.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: dev
	$(PY) -m tests.fuzz.run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The benchmarks need wrk and hyperfine (make deps BENCH=1); the host-side ones run
# as root (namespaces, users' homes).
bench: dev
	@packaging/debian-deps test
	$(PY) contrib/bench/idmd_bench.py
	$(PY) contrib/bench/credentials_bench.py
	$(PY) contrib/bench/unixd_bench.py
	$(PY) contrib/bench/nss_bench.py
	$(PY) contrib/bench/pam_mfa_bench.py
	$(PY) contrib/bench/sshkeys_helper_bench.py
	$(PY) contrib/bench/backup_bench.py
	$(PY) contrib/bench/web_bench.py

# make install (root): the system install of docs/install.md. DESTDIR stages it elsewhere (a
# package build, tests/test_install.py); the paths below are where the files end up.
DESTDIR        ?=
PREFIX         ?= /usr
ifndef MULTIARCH
MULTIARCH      := $(shell gcc -print-multiarch 2>/dev/null)
endif
LIBDIR         ?= $(PREFIX)/lib/$(or $(MULTIARCH),x86_64-linux-gnu)
PAMDIR         ?= $(LIBDIR)/security
BINDIR         ?= $(PREFIX)/bin
UNITDIR        ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
PAMCONFIGDIR   ?= $(PREFIX)/share/pam-configs
DOCDIR         ?= $(PREFIX)/share/doc/hermit-idm
# The Python package lives in its own venv built from the system python3 (readable and
# runnable by every user); BINDIR gets symlinks to its console scripts.
PYTHON_PREFIX  ?= /opt/hermit
CONSOLE_SCRIPTS := hermit hermit-idmd hermit-unixd hermit-unixd-tasks hermit-unix
VENV_DEST      := $(DESTDIR)$(PYTHON_PREFIX)

install:
	$(MAKE) -s -C sshkeys-helper
	$(MAKE) -s -C nss_module
	$(MAKE) -s -C pam_module
	umask 022; \
	install -d -m 0755 $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PAMDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(PAMCONFIGDIR) \
		$(DESTDIR)$(DOCDIR)/examples && \
	install -m 0644 build/libnss_hermit.so.2 $(DESTDIR)$(LIBDIR)/libnss_hermit.so.2 && \
	install -m 0644 build/pam_hermit.so $(DESTDIR)$(PAMDIR)/pam_hermit.so && \
	install -m 0755 build/hermit-ssh-authorizedkeys $(DESTDIR)$(BINDIR)/hermit-ssh-authorizedkeys && \
	install -m 0644 packaging/hermit-idmd.service packaging/hermit-unixd.service \
		packaging/hermit-unixd-tasks.service $(DESTDIR)$(UNITDIR)/ && \
	install -m 0644 packaging/hermit-idmd.sysusers $(DESTDIR)$(SYSUSERSDIR)/hermit-idmd.conf && \
	install -m 0644 packaging/pam-configs/hermit $(DESTDIR)$(PAMCONFIGDIR)/hermit && \
	install -m 0644 packaging/server.toml.example packaging/unixd.toml.example \
		packaging/sshd_config.d/hermit.conf $(DESTDIR)$(DOCDIR)/examples/ && \
	install -m 0644 docs/install.md docs/host.md docs/server.md docs/native-modules.md \
		$(DESTDIR)$(DOCDIR)/
	$(MAKE) -s install-python
	$(if $(DESTDIR),,ldconfig)
	@sed -n '/^## Next steps/,/^## /p' docs/install.md | sed '$$d'

# The package is built from a copy of its sources, so nothing stale under build/ gets in.
# Installed without .pyc files, then compiled with the final paths; under DESTDIR every text
# file in the venv's bin/ (the scripts' #! lines, activate) names the final location instead.
install-python:
	@echo "make install: installing hermit and its runtime dependencies into $(VENV_DEST) (pip)"
	umask 022; src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && \
	cp -r pyproject.toml README.md idmd hermit_cli unixd hermit_common "$$src"/ && \
	find "$$src" -name __pycache__ -prune -exec rm -rf {} + && \
	{ test -x $(VENV_DEST)/bin/python || $(PYTHON) -m venv $(VENV_DEST); } && \
	$(VENV_DEST)/bin/python -m pip install -q --no-compile --upgrade -c constraints.txt "$$src" && \
	$(VENV_DEST)/bin/python -m compileall -q -f $(if $(DESTDIR),-s $(DESTDIR) -p /) \
		$(VENV_DEST)/lib >/dev/null && \
	if [ -n "$(DESTDIR)" ]; then \
		grep -rlI '$(VENV_DEST)' $(VENV_DEST)/bin $(VENV_DEST)/pyvenv.cfg | \
			xargs -r sed -i 's|$(VENV_DEST)|$(PYTHON_PREFIX)|g'; \
	fi && \
	install -d -m 0755 $(DESTDIR)$(BINDIR) && \
	for script in $(CONSOLE_SCRIPTS); do \
		ln -sfn $(PYTHON_PREFIX)/bin/$$script $(DESTDIR)$(BINDIR)/$$script || exit 1; \
	done

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache
