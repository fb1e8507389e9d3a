"""Run the course's JupyterHub (deploy/jupyterhub/) on 127.0.0.1 and use it over HTTP as a browser.

``HubCourse`` makes throw-away Unix users (one instructor whose home is a copy of the course,
students with their own homes), a fresh exchange, and starts ``jupyterhub`` with the course's
configuration and dummy authentication; ``stop()`` removes it all. ``HubUser`` logs in through
the login form, waits for its server, and calls the Jupyter and nbgrader endpoints with the
cookies and XSRF token a browser would send.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from devtools.ports import free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
VENV = Path(sys.executable).parent.parent
COURSE_FILES = ("nbgrader_config.py", "solutions", "assignments")


@contextmanager
def runnable_by_everyone(path: Path) -> Iterator[None]:
    """While inside: every folder on the way to ``path`` lets other users pass (``o+x``).

    The course venv's interpreter may lie where only root may go (pyenv under /root, as on this
    project's machines); the Hub's users must run it. Each folder changed gets its mode back.
    """
    changed = [(folder, folder.stat().st_mode) for folder in path.resolve().parents
               if not folder.stat().st_mode & 0o001]
    try:
        for folder, mode in changed:
            folder.chmod((mode | 0o001) & 0o7777)
        yield
    finally:
        for folder, mode in changed:
            folder.chmod(mode & 0o7777)


class HubCourse:
    """The Hub, its users and folders; ``start()`` then ``stop()`` (always)."""

    def __init__(self, students: list[str], env: dict[str, str] | None = None) -> None:
        tag = secrets.token_hex(3)
        self.instructor = f"cnni{tag}"
        self.students = {name: f"cnns{tag}{name}" for name in students}  # role name -> Unix user
        self.base = Path(tempfile.mkdtemp(prefix="cnn-hub-"))
        self.base.chmod(0o755)
        self.root = self.base / "course"
        self.exchange = self.base / "exchange"
        self.state = self.base / "hub"
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = self.base / "jupyterhub.log"
        self.process: subprocess.Popen | None = None
        self.users: list[str] = []
        self.venv = VENV
        self.extra_env = env or {}

    # --- set-up ---------------------------------------------------------------------------------
    def _useradd(self, name: str, home: Path, create: bool) -> None:
        subprocess.run(["useradd", "--home-dir", str(home), "--shell", "/bin/bash", "--user-group",
                        "--create-home" if create else "--no-create-home", name], check=True,
                       capture_output=True)
        self.users.append(name)

    def start(self) -> HubCourse:
        self.root.mkdir()
        for name in COURSE_FILES:
            source = REPO / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, self.root / name)
        (self.root / "autograder").mkdir()
        self._useradd(self.instructor, self.root, create=False)
        subprocess.run(["chown", "-R", f"{self.instructor}:{self.instructor}", str(self.root)], check=True)
        self.root.chmod(0o700)  # the gradebook, solutions and checks: the instructor's only
        (self.base / "homes").mkdir(mode=0o755)
        for user in self.students.values():
            self._useradd(user, self.base / "homes" / user, create=True)
        env = {**os.environ, "CNN_COURSE_ROOT": str(self.root), "CNN_COURSE_VENV": str(self.venv),
               "CNN_COURSE_HUB_STATE": str(self.state), "CNN_COURSE_EXCHANGE": str(self.exchange),
               "CNN_COURSE_HUB_URL": self.url, "CNN_COURSE_AUTH": "dummy",
               "CNN_COURSE_INSTRUCTORS": self.instructor,
               "CNN_COURSE_STUDENTS": ",".join(self.students.values()),
               "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}", **self.extra_env}
        self.process = subprocess.Popen(
            [str(VENV / "bin" / "jupyterhub"), "-f", str(CONFIG), "--JupyterHub.hub_port", str(free_port()),
             "--ConfigurableHTTPProxy.api_url", f"http://127.0.0.1:{free_port()}"],
            cwd=self.state.parent, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if requests.get(f"{self.url}/hub/api", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"jupyterhub did not answer on {self.url} within 60 s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for user in self.users:
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        for user in self.users:
            subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

    # --- as a user, outside the browser ---------------------------------------------------------
    def run_as(self, user: str, command: list[str], cwd: Path | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        home = self.root if user == self.instructor else self.base / "homes" / user
        settings = [f"{key}={value}" for key, value in {"HOME": str(home), **(env or {})}.items()]
        return subprocess.run(["runuser", "-u", user, "--", "env", *settings, *command],
                              cwd=cwd or home, capture_output=True, text=True, timeout=900)

    def login(self, user: str) -> HubUser:
        return HubUser(self, user).login()


class HubUser:
    """One user's browser: a cookie jar, and the XSRF token its server set."""

    def __init__(self, hub: HubCourse, name: str) -> None:
        self.hub, self.name = hub, name
        self.session = requests.Session()
        self.server = f"{hub.url}/user/{name}"

    def login(self) -> HubUser:
        self.session.get(f"{self.hub.url}/hub/login", timeout=30)
        answer = self.session.post(f"{self.hub.url}/hub/login?next=", timeout=120, data={
            "username": self.name, "password": "any", "_xsrf": self.session.cookies.get("_xsrf", "")})
        if not answer.ok:
            raise RuntimeError(f"{self.name}: login and spawn gave {answer.status_code}:\n{self.hub.logs()}")
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            page = self.session.get(f"{self.server}/lab", timeout=60)
            if page.ok and "jupyter-config-data" in page.text:
                return self
            time.sleep(1)
        raise RuntimeError(f"{self.name}'s server did not start:\n{self.hub.logs()}")

    def _xsrf(self) -> dict[str, str]:
        token = next((c.value for c in self.session.cookies if c.name == "_xsrf" and "/user/" in c.path), "")
        return {"X-XSRFToken": token}

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(f"{self.server}/{path}", params=params, timeout=120)

    def post(self, path: str, data: dict | None = None, json_body: dict | None = None) -> requests.Response:
        return self.session.post(f"{self.server}/{path}", data=data, json=json_body,
                                 headers=self._xsrf(), timeout=900)

    def read_notebook(self, path: str) -> dict:
        answer = self.get(f"api/contents/{path}", content="1")
        answer.raise_for_status()
        return answer.json()["content"]

    def write_notebook(self, path: str, notebook: dict) -> None:
        body = json.dumps({"type": "notebook", "format": "json", "content": notebook})
        answer = self.session.put(f"{self.server}/api/contents/{path}", headers=self._xsrf(), timeout=60,
                                  data=body)
        answer.raise_for_status()
