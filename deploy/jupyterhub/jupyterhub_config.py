# JupyterHub for a class on one machine: the course for every learner from one shared,
# read-only installation; a Jupyter server per learner, started and authenticated by the hub.
#
#   sudo bash deploy/jupyterhub/start.sh     # installs what is missing, then runs this
#
# Learners are the machine's users in the learners' group (PAM: their own password);
# instructors are hub admins by group. Every learner's server runs as that learner
# (LocalProcessSpawner), through singleuser.py, which writes their notebooks into their home
# on each start (never over their work), starts their grading server beside it and stops it
# with it. Each learner's progress is also written to the class folder, one folder per learner
# that only they and the instructors' group can read, for `course gradebook`.
#
# Settings come from the environment (start.sh sets the defaults below), so a test or a
# second class can run this same file with other folders and groups.
import grp
import os
import pwd
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub

HERE = Path(__file__).resolve().parent
# The shared installation: a virtual environment with the course (editable, from a read-only
# copy of the checkout) and JupyterHub, owned by root, readable by all.
COURSE_VENV = Path(os.environ.get("COURSE_VENV", "/opt/designing-scalable-ai/venv"))
STATE = Path(os.environ.get("COURSE_HUB_STATE", "/srv/designing-scalable-ai"))  # the hub's database and secret
CLASS_DIR = Path(os.environ.get("COURSE_CLASS_DIR", STATE / "class"))
LEARNERS = os.environ.get("COURSE_LEARNER_GROUP", "course-learners")
INSTRUCTORS = os.environ.get("COURSE_INSTRUCTOR_GROUP", "course-instructors")
IDLE_S = int(os.environ.get("COURSE_IDLE_TIMEOUT_S", 3600))  # a learner's server is stopped after this long idle

# --- the hub ---------------------------------------------------------------------------
# Only on this machine by default: put it behind your HTTPS reverse proxy, or set
# COURSE_HUB_URL=https://0.0.0.0:443 with c.JupyterHub.ssl_cert/ssl_key, to open it to a class.
c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_ip = "127.0.0.1"
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
# configurable-http-proxy as start.sh installs it (deploy/jupyterhub/package.json pins it), else from PATH
_proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(_proxy) if _proxy.exists() else "configurable-http-proxy"]

# --- who may log in --------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_groups = {LEARNERS, INSTRUCTORS}
c.Authenticator.admin_groups = {INSTRUCTORS}  # instructors see and stop every learner's server

# --- each learner's server -------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
# singleuser.py runs with the course's Python, as the learner: notebooks, grading server, then
# jupyterhub-singleuser. A wrapper command rather than a server extension: it needs nothing
# enabled in Jupyter's own configuration, it runs before Jupyter starts (so the notebooks are
# there when the page opens), and it outlives Jupyter long enough to stop the grading server.
c.Spawner.cmd = [str(COURSE_VENV / "bin" / "python"), str(HERE / "singleuser.py")]
c.Spawner.notebook_dir = "~/designing-scalable-ai"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180  # the first start of the day imports Jupyter from a cold disk
c.Spawner.http_timeout = 180
c.Spawner.interrupt_timeout = 15  # singleuser.py stops Jupyter and the grading server within this
c.Spawner.environment = {
    "COURSE_CLASS_DIR": str(CLASS_DIR),  # set here, by the deployment: the gradebook's copy of progress
    "COURSE_LEARNER": lambda spawner: spawner.user.name,  # the folder the hub made for this learner
    "COURSE_GRADER_IDLE_HOURS": "2",  # a grading server orphaned by a killed Jupyter ends on its own
}


def _instructors_gid() -> int | None:
    try:
        return grp.getgrnam(INSTRUCTORS).gr_gid
    except KeyError:
        return None


def make_class_folder(spawner) -> None:
    """The learner's own folder in the class folder, made by the hub (root) before each start:
    owned by the learner, group the instructors (setgid, so the copies inherit it), mode 2750.
    Without an instructors' group it is 0700 and only root reads it (`sudo course gradebook`)."""
    user = pwd.getpwnam(spawner.user.name)
    gid = _instructors_gid()
    CLASS_DIR.mkdir(parents=True, exist_ok=True)
    # Others may pass through the class folder to their own folder but not list it.
    os.chown(CLASS_DIR, 0, gid if gid is not None else 0)
    os.chmod(CLASS_DIR, 0o751 if gid is not None else 0o711)
    folder = CLASS_DIR / spawner.user.name
    folder.mkdir(exist_ok=True)
    if folder.is_symlink() or not folder.is_dir():
        raise RuntimeError(f"{folder} is not a folder: not starting {spawner.user.name}'s server")
    os.chown(folder, user.pw_uid, gid if gid is not None else user.pw_gid)
    os.chmod(folder, 0o2750 if gid is not None else 0o700)


c.Spawner.pre_spawn_hook = make_class_folder

# --- idle servers are stopped (their kernels and grading servers with them) -------------
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_S}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]

if shutil.which(c.ConfigurableHTTPProxy.command[0]) is None:
    sys.exit("configurable-http-proxy is not installed: `bash deploy/jupyterhub/start.sh` installs it from npm")
