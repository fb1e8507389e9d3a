"""JupyterHub for the course: students get the course and nbgrader's Assignments tab, the
instructors the formgrader, on one Hub, with nbgrader's exchange between them.

    sudo CNN_COURSE_ROOT=/srv/cnn-course CNN_COURSE_INSTRUCTORS=alice CNN_COURSE_STUDENTS=bob,carol \\
        /srv/cnn-course/.venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Every setting comes from the environment (defaults in brackets):

    CNN_COURSE_ROOT         the instructor's course folder, this repository [two levels up]
    CNN_COURSE_VENV         the course's venv, the single-user environment, which every user
                            must be able to run [$CNN_COURSE_ROOT/.venv]
    CNN_COURSE_HUB_STATE    the Hub's database, cookie secret, generated configs [/srv/cnn-course-hub]
    CNN_COURSE_EXCHANGE     nbgrader's exchange folder [/srv/nbgrader/exchange]
    CNN_COURSE_HUB_URL      where the Hub listens [http://127.0.0.1:8000]
    CNN_COURSE_INSTRUCTORS  comma-separated user names: formgrader, the course folder as home
    CNN_COURSE_STUDENTS     comma-separated user names: Assignments tab, their own home
    CNN_COURSE_AUTH         "dummy" (tests: any password) or "pam" (the machine's users) [pam]
    CNN_COURSE_WATCH        comma-separated assignment ids: a Hub service per id collects, grades
                            and releases feedback as submissions arrive (autograder watch) []
    CNN_COURSE_WATCH_INTERVAL  seconds between its rounds [30]

Users are Unix users of this machine (LocalProcessSpawner: the Hub runs as root and starts each
server as its user), so students cannot read each other's files, the course folder or the
gradebook. Production (TLS, a real authenticator, Kubernetes): docs/jupyterhub.md.
"""

import json
import os
import shutil
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)

ROOT = Path(os.environ.get("CNN_COURSE_ROOT", Path(__file__).resolve().parents[2]))
VENV = Path(os.environ.get("CNN_COURSE_VENV", ROOT / ".venv"))
STATE = Path(os.environ.get("CNN_COURSE_HUB_STATE", "/srv/cnn-course-hub"))
EXCHANGE = Path(os.environ.get("CNN_COURSE_EXCHANGE", "/srv/nbgrader/exchange"))
COURSE_ID = "cnn-course"
INSTRUCTORS = [u for u in os.environ.get("CNN_COURSE_INSTRUCTORS", "").split(",") if u]
STUDENTS = [u for u in os.environ.get("CNN_COURSE_STUDENTS", "").split(",") if u]

# --- what must be there before the Hub starts: said in words, with what to do --------------------
BIND_URL = urlsplit(os.environ.get("CNN_COURSE_HUB_URL", "http://127.0.0.1:8000"))
if shutil.which("configurable-http-proxy") is None:
    sys.exit("cnn-course hub: configurable-http-proxy is not installed. Install it: "
             "sudo apt-get install node-configurable-http-proxy (Debian) or "
             "npm install -g configurable-http-proxy, then start the Hub again.")
with socket.socket() as probe:
    try:
        probe.bind((BIND_URL.hostname or "", BIND_URL.port or 80))
    except OSError as error:
        sys.exit(f"cnn-course hub: cannot listen on {BIND_URL.geturl()} ({error.strerror}): another "
                 "program uses that port. Stop it, or set CNN_COURSE_HUB_URL to a free address.")
if not (VENV / "bin" / "python").exists():
    sys.exit(f"cnn-course hub: no course venv at {VENV}: run `make setup` in the course folder, "
             "or set CNN_COURSE_VENV.")

# --- the Hub ----------------------------------------------------------------------------------
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.bind_url = BIND_URL.geturl()
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
# Debian's configurable-http-proxy finds its modules in /usr/share/nodejs; a Node.js that is not
# Debian's (first on PATH) looks there only when told
if Path("/usr/share/nodejs/configurable-http-proxy").is_dir():
    os.environ.setdefault("NODE_PATH", "/usr/share/nodejs")
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = os.environ.get("CNN_COURSE_AUTH", "pam")
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
c.Authenticator.admin_users = set(INSTRUCTORS)
c.JupyterHub.load_groups = {f"formgrade-{COURSE_ID}": {"users": INSTRUCTORS},
                            f"nbgrader-{COURSE_ID}": {"users": STUDENTS}}

# --- nbgrader's exchange: anyone may drop into inbound/, nobody but its owner reads a file -----
EXCHANGE.mkdir(parents=True, exist_ok=True)
EXCHANGE.chmod(0o1777)  # nbgrader's documented mode: world-writable, sticky

# --- what each user's server loads -----------------------------------------------------------
# One Jupyter config folder per role (JUPYTER_CONFIG_DIR): the exchange and course id for
# nbgrader, and which server extensions run. The course's own nbgrader_config.py (grading,
# sandbox, layout) is read from the instructor's working folder, the course folder.
NBGRADER = f"c.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(EXCHANGE)!r}\n"
EXTENSIONS = {
    "instructor": {"jupyterlab": True,
                   "nbgrader.server_extensions.formgrader": True,
                   "nbgrader.server_extensions.assignment_list": True,
                   "nbgrader.server_extensions.course_list": True,
                   "nbgrader.server_extensions.validate_assignment": True},
    "student": {"jupyterlab": True,
                "nbgrader.server_extensions.formgrader": False,
                "nbgrader.server_extensions.assignment_list": True,
                "nbgrader.server_extensions.course_list": False,
                "nbgrader.server_extensions.validate_assignment": True},
}
STATE.chmod(0o711)  # users read their role's config below, nothing else of the Hub's state
for role, extensions in EXTENSIONS.items():
    folder = STATE / "config" / role
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n" + NBGRADER)
    (folder / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": extensions}}, indent=1))
    (folder / "migrated").write_text("")  # else Jupyter tries to write it there, as the user
    for path in (STATE / "config", folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV / "bin" / "python"), "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120


def pre_spawn(spawner) -> None:
    """Instructors work in the course folder with the formgrader; students in their home."""
    role = "instructor" if spawner.user.name in INSTRUCTORS else "student"
    spawner.environment["JUPYTER_CONFIG_DIR"] = str(STATE / "config" / role)
    spawner.notebook_dir = str(ROOT) if role == "instructor" else "~"


c.Spawner.pre_spawn_hook = pre_spawn

# --- feedback minutes after submitting: `python -m autograder watch ID` as the first instructor --
WATCH = [a for a in os.environ.get("CNN_COURSE_WATCH", "").split(",") if a]
if WATCH and INSTRUCTORS:
    c.JupyterHub.services = [{
        "name": f"feedback-{assignment}", "user": INSTRUCTORS[0], "cwd": str(ROOT),
        # -I: the course folder's autograder/ (working folders) must not shadow the package
        "command": [str(VENV / "bin" / "python"), "-I", "-m", "autograder", "watch", assignment,
                    "--interval", os.environ.get("CNN_COURSE_WATCH_INTERVAL", "30")],
        "environment": {"HOME": str(ROOT), "JUPYTER_CONFIG_DIR": str(STATE / "config" / "instructor"),
                        "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"},
    } for assignment in WATCH]
