"""Drive a real JupyterLab server in Debian's headless Chromium (sync Playwright API).

Used by the browser tests only. Facts this relies on are in ``shared/notes/browser-tests.md``:
the server needs ``--allow-root`` as root, dies silently in the background (poll
``/api/status``, show the log), and the "Jupyter news" notification must be switched off in a
temporary settings folder or it covers the page.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devtools.ports import free_port

CHROMIUM = os.environ.get("CNN_COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: User settings written into a throw-away JUPYTERLAB_SETTINGS_DIR.
LAB_SETTINGS = {
    # the news/update notification covers the page otherwise
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    # every cell in the DOM (no virtual scrolling), so prompts and widgets can all be read
    # ... and each cell's execution timestamps are saved in its metadata
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "recordTiming": True},
    # the tests save explicitly; autosave would race with them
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}

# Copied into the server's root: what a student's checkout holds, minus the heavy or private.
_IGNORE_IN_COPY = shutil.ignore_patterns(
    ".venv", ".git", "test-artifacts", "__pycache__", ".ipynb_checkpoints", ".pytest_cache",
    ".ruff_cache", "*.egg-info", "gradebook.db", "submitted", "autograded", "feedback",
    "downloaded", "exchange", "node_modules", "test-results")


def copy_course(repo: Path, dest: Path) -> Path:
    """A working copy of the course in ``dest`` (notebooks are run and saved there, never in
    the repository; the gradebook created by the formgrader lives there too)."""
    shutil.copytree(repo, dest, ignore=_IGNORE_IN_COPY)
    (dest / "autograder").mkdir(exist_ok=True)
    return dest


@dataclass
class LabServer:
    """``jupyter lab`` started on 127.0.0.1 with a random token in ``root`` (also its cwd,
    where nbgrader's validate handler looks for ``nbgrader_config.py``)."""

    root: Path
    workdir: Path
    kernel_threads: int = 1
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "jupyterlab.log"

    def environment(self) -> dict[str, str]:
        settings = self.workdir / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            package, name = plugin.rsplit("/", 1)
            target = settings / package / f"{name}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        for sub in ("config", "workspaces", "runtime"):
            (self.workdir / sub).mkdir(exist_ok=True)
        env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)
        threads = str(self.kernel_threads)
        env.update({
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "JUPYTER_CONFIG_DIR": str(self.workdir / "config"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.workdir / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(self.workdir / "runtime"),
            # kernels inherit these: two notebooks run side by side on two cores
            "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def start(self, timeout: float = 60, attempts: int = 5) -> None:
        """Start the server; a port taken between choosing it and binding it is chosen again."""
        for _ in range(attempts):
            if self._start_once(timeout):
                return
            self.port = free_port()
        raise RuntimeError(f"jupyter lab found no free port in {attempts} attempts:\n{self.log_tail()}")

    def _start_once(self, timeout: float) -> bool:
        """True once the server answers; False when its port was taken; raises otherwise."""
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
                   f"--port={self.port}", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0",
                   "--LabApp.news_url=None",
                   # a kernel start can take minutes on a 2-core machine that is busy
                   # (default 60 s, after which JupyterLab asks which kernel to start)
                   "--MappingKernelManager.kernel_info_timeout=300"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        log = open(self.log_path, "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(command, cwd=self.root, env=self.environment(),
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "already in use" in self.log_tail():
                    return False
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return True
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer /api/status in {timeout} s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def shutdown_kernels(self, notebook_path: str | None = None) -> None:
        """Delete the sessions (and kernels) of ``notebook_path``, or all of them."""
        for session in self.api("GET", "/api/sessions") or []:
            if notebook_path is None or session.get("path") == notebook_path:
                try:
                    self.api("DELETE", f"/api/sessions/{session['id']}")
                except urllib.error.HTTPError:
                    pass

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- notebook pages -------------------------------------------------------------------------

_PROMPTS_JS = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim())"""

_STATUS_JS = """() => {
  const el = document.querySelector(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  return el ? el.getAttribute('data-status') : null;
}"""


def workspace_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "ws"


def open_notebook(page, server: LabServer, rel_path: str, timeout_s: float = 120,
                  kernel_display_name: str = "Python (cnn-course)") -> None:
    """Open ``rel_path`` (relative to the server root) in its own JupyterLab workspace and
    wait for its kernel to be idle. If JupyterLab asks which kernel to start (it does when a
    kernel start is slow or fails on a busy machine), the course's kernel is chosen."""
    workspace = workspace_name(rel_path)
    page.goto(server.url(f"/lab/workspaces/{workspace}/tree/{rel_path}?reset"),
              wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout_s * 1000)
    idle = '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]'
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.locator(idle).count():
            return
        if page.locator(".jp-Dialog").count():
            dismiss_dialogs(page, kernel_display_name)
        page.wait_for_timeout(250)
    raise AssertionError(f"{rel_path}: the kernel was not idle after {timeout_s} s")


def run_menu_command(page, menu: str, command: str) -> None:
    """Click ``menu`` in the menu bar, then the item bound to the Lumino ``command``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).first.click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').first.click()


def dismiss_dialogs(page, kernel_display_name: str = "Python (cnn-course)") -> list[str]:
    """Answer JupyterLab dialogs: "Select Kernel" gets the course's kernel (never another
    kernelspec that happens to be preselected); any other dialog is accepted. Returns their
    texts (printed, so a test log shows them)."""
    texts = []
    for _ in range(3):
        dialog = page.locator(".jp-Dialog")
        if not dialog.count():
            break
        text = dialog.first.inner_text()
        texts.append(text[:300])
        choice = dialog.first.locator("select")
        if "Select Kernel" in text and choice.count():
            choice.first.select_option(label=kernel_display_name)
        accept = dialog.first.locator(".jp-Dialog-button.jp-mod-accept")
        if accept.count():
            accept.first.click()
        else:
            page.keyboard.press("Escape")
        page.wait_for_timeout(300)
    if texts:
        print(f"answered dialog(s): {texts}")
    return texts


def start_run_all(page, attempts: int = 3) -> None:
    """Run > Run All Cells, checked: right after the page loads the command can be a no-op
    (the notebook is not yet the shell's current widget), so click into the notebook first
    and retry until some prompt shows ``[*]`` or a number."""
    started = """() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]
        .some(p => /[*0-9]/.test(p.textContent))"""
    for _ in range(attempts):
        dismiss_dialogs(page)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-InputPrompt").first.click(
            timeout=10_000)
        run_menu_command(page, "Run", "runmenu:run-all")
        try:
            page.wait_for_function(started, timeout=10_000)
            return
        except Exception:  # playwright's TimeoutError: not started, try again
            continue
    raise AssertionError(f"Run All did not start after {attempts} attempts")


def run_all_state(page) -> tuple[bool, list[str]]:
    """(finished, prompts): finished once no cell is queued/running (``[*]``), the first code
    cell has an execution count and the kernel is idle."""
    prompts = page.evaluate(_PROMPTS_JS)
    if not prompts or any("*" in p for p in prompts):
        return False, prompts
    first_ran = bool(re.search(r"\d", prompts[0])) or len(prompts) == 0
    return first_ran and page.evaluate(_STATUS_JS) == "idle", prompts


def save_notebook(page, timeout_ms: int = 30_000) -> None:
    run_menu_command(page, "File", "docmanager:save")
    page.wait_for_function(
        """() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')""",
        timeout=timeout_ms)


def error_outputs(notebook) -> list[str]:
    """Descriptions of the error outputs (and unexecuted non-empty code cells) of a saved
    notebook (an ``nbformat`` node)."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"cell #{index} raised {output.get('ename')}: "
                                f"{output.get('evalue')}\n--- source ---\n{cell.source}")
        if cell.source.strip() and cell.get("execution_count") is None and not problems:
            problems.append(f"cell #{index} was not executed\n--- source ---\n{cell.source}")
    return problems


def kernel_seconds(notebook) -> float | None:
    """Seconds the kernel spent from the first cell's start to the last cell's reply, read
    from the timestamps JupyterLab saves with ``recordTiming`` (None if there are none)."""
    from datetime import datetime

    starts, ends = [], []
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            starts.append(datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00")))
            ends.append(datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00")))
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds()


# --- widgets --------------------------------------------------------------------------------

#: One output per displayed widget that shows a picture (a Visualizer or an interact with a plot).
_TAG_AREAS_JS = """() => {
  const outs = [...document.querySelectorAll(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')];
  let n = 0;
  for (const out of outs) {
    if (!out.querySelector('.jupyter-widgets')) continue;
    if (!out.querySelector('img.widget-image, .widget-image img, .widget-output img')) continue;
    out.setAttribute('data-cnn-area', String(n++));
  }
  return n;
}"""

#: Tag the controls of one area in DOM order; returns their kinds.
_TAG_CONTROLS_JS = """(area) => {
  const kinds = [];
  const sel = ['.widget-slider', '.widget-dropdown', '.widget-toggle-buttons', '.widget-radio',
               '.widget-checkbox', '.widget-text', '.widget-toggle-button', '.widget-button']
               .join(',');
  for (const el of area.querySelectorAll(sel)) {
    if (el.closest('[data-cnn-control]')) continue;   // nested match (e.g. button in a group)
    if (el.matches('.widget-toggle-button') && el.closest('.widget-toggle-buttons')) continue;
    const disabled = el.querySelector('[disabled]') || el.hasAttribute('disabled');
    let kind = null;
    if (el.matches('.widget-slider') && el.querySelector('.noUi-handle')) kind = 'slider';
    else if (el.matches('.widget-dropdown') && el.querySelector('select')) kind = 'dropdown';
    else if (el.matches('.widget-toggle-buttons')) kind = 'toggle-buttons';
    else if (el.matches('.widget-radio')) kind = 'radio';
    else if (el.matches('.widget-checkbox')) kind = 'checkbox';
    // number boxes only: typing into a free-text box would just make its input invalid
    else if (el.matches('.widget-text') && el.querySelector('input[type=number]')) kind = 'text';
    else if (el.matches('.widget-toggle-button')) kind = 'toggle-button';
    else if (el.matches('.widget-button')) kind = 'button';
    if (!kind || disabled) continue;
    el.setAttribute('data-cnn-control', String(kinds.length));
    kinds.push(kind);
  }
  return kinds;
}"""

_HASH_JS = """async (area) => {
  const parts = [];
  for (const img of area.querySelectorAll('img')) {
    if (!img.src) { parts.push('-'); continue; }
    const buf = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', buf);
    parts.push([...new Uint8Array(digest)].slice(0, 12)
                .map(b => b.toString(16).padStart(2, '0')).join(''));
  }
  return parts.join(',');
}"""


def tag_widget_areas(page) -> int:
    return page.evaluate(_TAG_AREAS_JS)


def tag_controls(area) -> list[str]:
    """Mark the controls of a widget area (``data-cnn-control``); returns their kinds."""
    return area.evaluate(_TAG_CONTROLS_JS)


def picture_hash(area) -> str:
    return area.evaluate(_HASH_JS)


def move_control(area, index: int, kind: str, forward: bool = True) -> None:
    """Change control ``index`` of ``area`` once, like a student would."""
    control = area.locator(f'[data-cnn-control="{index}"]')
    if kind == "slider":
        handle = control.locator(".noUi-handle").first
        now, top = (handle.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax"))
        if now is not None and top is not None and float(now) >= float(top):
            forward = not forward  # at the maximum: step down first
        handle.focus()
        handle.press("ArrowRight" if forward else "ArrowLeft")
    elif kind == "dropdown":
        select = control.locator("select")
        options = select.evaluate("s => [...s.options].map(o => o.value)")
        current = select.evaluate("s => s.selectedIndex")
        target = (current + (1 if forward else -1)) % max(len(options), 1)
        select.select_option(index=target)
    elif kind in ("toggle-buttons", "radio"):
        item = "button" if kind == "toggle-buttons" else "input"
        inactive = (control.locator(f"{item}:not(.mod-active)") if kind == "toggle-buttons"
                    else control.locator("input:not(:checked)"))
        targets = inactive.all()
        (targets[0] if forward or len(targets) == 1 else targets[-1]).click()
    elif kind == "checkbox":
        control.locator("input").first.click()
    elif kind == "text":
        box = control.locator("input").first
        box.focus()
        box.press("ArrowUp" if forward else "ArrowDown")
        box.press("Enter")
    else:  # toggle-button, button
        control.click()


def wait_for_new_picture(area, before: str, timeout_s: float) -> str:
    """Poll the area's picture hash until it differs from ``before``, then until it is stable."""
    deadline = time.monotonic() + timeout_s
    current = before
    while time.monotonic() < deadline:
        current = picture_hash(area)
        if current != before:
            # one change = one redraw, but let a queued second render land before asserting
            time.sleep(0.15)
            settled = picture_hash(area)
            return settled
        time.sleep(0.1)
    return current
