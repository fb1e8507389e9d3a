# The course's two commands:  `make lab` (set up, open JupyterLab)  and  `make test`.
# Everything is installed into .venv with the versions pinned in constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := cnn-course
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=
LINTED := utils autograder devtools tests bench lectures solutions deploy nbgrader_config.py
# Parts of the test suite to leave out, e.g. `make test SKIP=browser,postgres` (devtools/system.py).
SKIP ?=
export SKIP
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab test check setup system-lab system-test lint strip release bench gpu-check clean test-browser screenshots site

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and alone, so that the pinned build is the one that gets installed
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,site,hub]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (cnn-course)"
	$(BIN)/python -m autograder kernels --install >/dev/null
	$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.formgrader >/dev/null
	$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.validate_assignment >/dev/null
	touch $(STAMP)

# Debian packages the command needs (installed when this user may, else one exact command).
system-lab system-test: system-%:
	@$(PYTHON) devtools/system.py $*

lab: system-lab $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=. lectures/00_start_here.ipynb

test: system-test lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The developer loop: ruff and the fast tier (tests/unit/), well under a minute.
check: lint
	$(BIN)/python -m pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)

# Remove outputs and execution counts from every committed notebook.
strip: $(STAMP)
	$(BIN)/python -m devtools.notebooks strip lectures solutions assignments

# Regenerate the student release in assignments/ from solutions/ with nbgrader.
release: $(STAMP)
	$(BIN)/python -m autograder release

# The static course site in build/site/ (lectures executed, widgets as animations); open
# build/site/index.html. Lectures are executed once and cached in build/site-cache/.
site: $(STAMP)
	$(BIN)/python -m devtools.site

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

gpu-check: $(STAMP)
	$(BIN)/python bench/gpu_check.py

# Every lecture, the Validate button and the formgrader in JupyterLab + Debian's Chromium
# (apt-get install chromium; never `playwright install`). Screenshots: test-artifacts/.
test-browser: $(STAMP)
	$(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

# Copy the most telling widget screenshots of the last browser run into docs/img/ (README).
README_SHOTS := 01_why_convolutions__w0 05_conv2d_images__w0 06_conv2d_step_through__w0 \
                12_lenet5__w0 formgrader_gradebook validate_blank_a1_conv1d
screenshots:
	mkdir -p docs/img
	for shot in $(README_SHOTS); do \
	  if [ -f test-artifacts/screenshots/$$shot.png ]; then cp test-artifacts/screenshots/$$shot.png docs/img/; \
	  else echo "missing $$shot.png: run make test-browser first"; fi; done

clean:
	rm -rf $(VENV) autograder/submitted autograder/autograded autograder/feedback autograder/gradebook.db
