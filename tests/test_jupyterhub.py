"""The class server for real: JupyterHub with deploy/jupyterhub/jupyterhub_config.py on
127.0.0.1, two throwaway local learners and an instructor. Both learners' servers are
spawned through the hub's REST API; in each, a kernel (through the Jupyter server's REST and
websocket API, as a notebook does) loads the course tools, runs an exercise cell and checks
it through the learner's grading server; then the instructor's `course gradebook` shows both
learners and their checks, and learner A cannot read learner B's progress, notebooks or
grading socket. Stopping a server stops everything of that learner's.

Needs root (it adds users, and the hub starts servers as them), Node's configurable-http-proxy
in deploy/jupyterhub/node_modules (`npm ci` there; .ci/run does it) and the `hub` extra
(`pip install -e .[hub]`); skipped, with the reason, without them. Everything it makes (users,
groups, folders, processes) is its own, named with this process's id, and removed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from course.core.exercises import ROOT

DEPLOY = ROOT / "deploy" / "jupyterhub"
PROXY = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
TAG = f"{os.getpid()}"
A, B, TEACHER = f"course-test-a-{TAG}", f"course-test-b-{TAG}", f"course-test-i-{TAG}"
OUTSIDER = f"course-test-x-{TAG}"  # a user of the machine in neither group: not in the class
LEARNERS_GROUP, INSTRUCTORS_GROUP = f"course-test-l-{TAG}", f"course-test-t-{TAG}"
EXERCISE = "1.1.3"  # multiple choice: the cheapest check, through the whole path all the same
PASSWORD = secrets.token_urlsafe(16)
SPAWN_S, CHECK_S = 150, 150  # bounds on a busy 2-core machine; a quiet one needs a fraction

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="a class server on one Linux machine"),
    pytest.mark.long,  # about 1.5 minutes: started first under pytest-xdist, not last
]


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root: it adds throwaway users and the hub starts servers as them (CI runs it with sudo)"
    if not PROXY.exists():
        return f"configurable-http-proxy is not installed: `npm ci` in {DEPLOY} (needs Node.js and npm)"
    if shutil.which("node") is None:
        return "Node.js is not installed (configurable-http-proxy runs on it)"
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    try:
        import jupyterhub  # noqa: F401
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError:
        return "JupyterHub is not installed: `pip install -e .[hub]` (.ci/run does)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as(user: str, *command: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", user, "--", *command], capture_output=True, text=True, timeout=timeout, cwd="/", **kwargs
    )


def _run(*command: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, input=input)


def _learner_python(work: Path) -> Path:
    """A Python every user can run that imports this checkout's course (the stand-in for the
    shared /opt environment start.sh makes): a virtual environment in a world-readable
    folder, from an interpreter of this Python's version that others may execute, that sees
    this environment's packages."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(getattr(sys, "_base_executable", sys.executable)).resolve(), Path(sys.executable).resolve()]
    candidates += [Path(p) for p in (shutil.which(version), f"/usr/bin/{version}", f"/usr/local/bin/{version}") if p]
    reasons = []
    for base in dict.fromkeys(candidates):
        if not base.exists():
            continue
        ran = _as(A, str(base), "-c", "import sys; print(sys.version_info[:2])")
        if ran.returncode != 0 or ran.stdout.strip() != str(tuple(sys.version_info[:2])):
            reasons.append(f"{base}: {(ran.stderr or ran.stdout).strip()[-200:]}")
            continue
        venv = work / "venv"
        subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        site = Path(
            subprocess.run(
                [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        ours = sysconfig.get_paths()["purelib"]
        (site / "zz_course_env.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        # Jupyter's settings and files live beside the packages' environment (etc/jupyter: the
        # JupyterLab server extension enabled; share/jupyter: its pages): the same here.
        prefix = _jupyter_prefix()
        for rel in ("etc/jupyter", "share/jupyter"):
            (venv / rel).parent.mkdir(parents=True, exist_ok=True)
            (venv / rel).symlink_to(prefix / rel)
        probe = _as(
            A,
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.util, course, graders, "
            "jupyterhub.singleuser; assert importlib.util.find_spec('torch'), 'no torch'",
            timeout=120,
        )
        if probe.returncode == 0:
            return venv
        reasons.append(f"{venv} from {base}: {probe.stderr.strip()[-300:]}")
        shutil.rmtree(venv)
    pytest.skip(
        "no Python that other users may run imports the course here (its environment or checkout "
        "is not readable by them): " + " | ".join(reasons)
    )


def _jupyter_prefix() -> Path:
    """The environment JupyterLab was installed into (its etc/ and share/ are there)."""
    import importlib.metadata

    dist = importlib.metadata.distribution("jupyterlab")
    enabled = next(f for f in dist.files if str(f).endswith("jupyter_server_config.d/jupyterlab.json"))
    return Path(dist.locate_file(enabled)).resolve().parents[3]


class Hub:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as err:
            return err.code, {"error": err.read().decode(errors="replace")}

    def wait_ready(self, user: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, info = self.api("GET", f"/hub/api/users/{user}")
            server = (info.get("servers") or {}).get("") if status == 200 else None
            if server and server.get("ready"):
                return
            time.sleep(1)
        raise AssertionError(f"{user}'s server was not ready in {timeout:.0f} s: {info}")


async def _execute(hub: Hub, user: str, cells: list[str], timeout: float) -> list[str]:
    """Run cells in a new kernel of ``user``'s server, as a notebook does; the text of each
    cell's outputs (streams, displays, errors)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    status, kernel = await asyncio.to_thread(hub.api, "POST", f"/user/{user}/api/kernels", {"name": "python3"})
    assert status == 201, kernel
    ws_url = hub.url.replace("http", "ws", 1) + f"/user/{user}/api/kernels/{kernel['id']}/channels"
    conn = await websocket_connect(
        HTTPRequest(ws_url, headers={"Authorization": f"token {hub.token}"}, connect_timeout=30)
    )
    session, outputs = uuid.uuid4().hex, []
    try:
        for code in cells:
            msg_id = uuid.uuid4().hex
            conn.write_message(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "msg_type": "execute_request",
                            "username": user,
                            "session": session,
                            "date": "",
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "channel": "shell",
                        "content": {
                            "code": code,
                            "silent": False,
                            "store_history": True,
                            "user_expressions": {},
                            "allow_stdin": False,
                            "stop_on_error": True,
                        },
                    }
                )
            )
            text, replied, idle = [], False, False
            while not (replied and idle):
                raw = await asyncio.wait_for(conn.read_message(), timeout)
                assert raw is not None, f"the kernel's websocket closed; outputs so far: {text}"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    text.append(content["text"])
                elif kind in ("display_data", "execute_result"):
                    text.append(content["data"].get("text/plain", ""))
                elif kind == "error":
                    text.append("\n".join(content["traceback"]))
                elif kind == "execute_reply":
                    replied = True
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
            outputs.append("".join(text))
    finally:
        conn.close()  # the kernel stays, as a notebook's does, until its server stops
    return outputs


def _log_in(hub_url: str, user: str, password: str) -> tuple[int, str]:
    """Log in through the hub's page as a browser does (PAM checks the password): the
    final status and address after the redirects."""
    import http.cookiejar
    import re
    import urllib.parse

    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"{hub_url}/hub/login", timeout=30) as page:
        xsrf = re.search(r'name="_xsrf"[^>]*value="([^"]+)"', page.read().decode()).group(1)
    form = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
    try:
        with browser.open(f"{hub_url}/hub/login", data=form, timeout=60) as page:
            return page.status, page.url
    except urllib.error.HTTPError as err:
        return err.code, err.url


def _grader_dir(uid: int) -> Path:
    """Where a learner's grading server listens (graders.remote.runtime_dir, seen from outside)."""
    for folder in (Path(f"/run/user/{uid}/designing-scalable-ai"), Path(f"/tmp/designing-scalable-ai-{uid}")):
        if folder.is_dir():
            return folder
    raise AssertionError(f"no grading server folder for user id {uid}")


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _hub_processes(pid: int) -> list[int]:
    """The hub and its descendants that run as root: its proxy and idle culler, not the
    learners' servers (which run as the learners)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if entry.stat().st_uid == 0:
                    children.setdefault(ppid, []).append(int(entry.name))
            except OSError:
                continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _memory_of(pids: list[int]) -> tuple[float, float, list[str]]:
    """RSS and PSS (MiB) summed over processes, and what each is."""
    rss = pss = 0.0
    names = []
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) for line in rollup.splitlines()[1:] if line.count(" ") > 1}
        rss += fields.get("Rss", 0) / 1024
        pss += fields.get("Pss", 0) / 1024
        names.append(f"{fields.get('Pss', 0) / 1024:7.0f} MiB PSS  {cmd[:100]}")
    return rss, pss, names


@pytest.fixture
def classroom():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    work = Path(tempfile.mkdtemp(prefix=f"course-hub-test-{TAG}-"))
    work.chmod(0o755)  # the learners pass through it to their homes and the shared Python
    made_users, made_groups, hub_process = [], [], None
    try:
        for group in (LEARNERS_GROUP, INSTRUCTORS_GROUP):
            assert _run("groupadd", group).returncode == 0
            made_groups.append(group)
        for user, group in ((A, LEARNERS_GROUP), (B, LEARNERS_GROUP), (TEACHER, INSTRUCTORS_GROUP), (OUTSIDER, "")):
            home = work / "home" / user
            home.parent.mkdir(exist_ok=True, mode=0o755)
            made = _run(
                "useradd",
                "--create-home",
                "--home-dir",
                str(home),
                *(["--groups", group] if group else []),
                "--shell",
                "/bin/bash",
                user,
            )
            assert made.returncode == 0, made.stderr
            made_users.append(user)
            home.chmod(0o755)  # an open home, as on many systems: the course must close its own folders
        venv = _learner_python(work)
        port, hub_port, api_port = _free_port(), _free_port(), _free_port()
        token = secrets.token_hex(32)
        overlay = work / "test_config.py"
        overlay.write_text(
            textwrap.dedent(f"""\
            c = get_config()
            load_subconfig({str(DEPLOY / "jupyterhub_config.py")!r})  # the repository's configuration, as is
            c.JupyterHub.hub_port = {hub_port}
            c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
            c.JupyterHub.services.append({{"name": "course-test", "api_token": {token!r}}})
            c.JupyterHub.load_roles.append({{"name": "course-test", "services": ["course-test"],
                "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"]}})
            """)
        )
        env = {
            **os.environ,
            "COURSE_VENV": str(venv),
            "COURSE_HUB_STATE": str(work / "state"),
            "COURSE_CLASS_DIR": str(work / "class"),
            "COURSE_LEARNER_GROUP": LEARNERS_GROUP,
            "COURSE_INSTRUCTOR_GROUP": INSTRUCTORS_GROUP,
            "COURSE_HUB_URL": f"http://127.0.0.1:{port}",
        }
        log = open(work / "hub.log", "wb")
        hub_process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(overlay)],
            cwd=str(work),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        hub = Hub(f"http://127.0.0.1:{port}", token)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert hub_process.poll() is None, (work / "hub.log").read_text()[-3000:]
            try:
                if hub.api("GET", "/hub/api/", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("the hub did not answer in 60 s:\n" + (work / "hub.log").read_text()[-3000:])
        hub.pid = hub_process.pid
        yield hub, work, venv / "bin" / "python"
    finally:
        if hub_process is not None:
            hub_process.terminate()  # the hub stops every learner's server (cleanup_servers)
            try:
                hub_process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(hub_process.pid, 9)
                hub_process.wait(timeout=10)
        failures = []
        for user in made_users:
            uid = pwd.getpwnam(user).pw_uid
            deadline = time.monotonic() + 20
            while True:  # anything of theirs still running is this test's: ended by id, then gone
                pids = _processes_of(uid)
                if not pids or time.monotonic() > deadline:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
                time.sleep(0.2)
            removed = _run("userdel", "--remove", user)
            if removed.returncode not in (0, 12):  # 12: its home was already gone
                failures.append(f"userdel {user}: {removed.stderr.strip()}")
            shutil.rmtree(f"/tmp/designing-scalable-ai-{uid}", ignore_errors=True)
        for group in made_groups:
            removed = _run("groupdel", group)
            if removed.returncode != 0:
                failures.append(f"groupdel {group}: {removed.stderr.strip()}")
        if os.environ.get("COURSE_TEST_KEEP_HUB_LOG"):
            shutil.copy(work / "hub.log", os.environ["COURSE_TEST_KEEP_HUB_LOG"])
        shutil.rmtree(work, ignore_errors=True)
        assert not failures, failures


def test_a_class_on_jupyterhub(classroom):
    hub, work, python = classroom  # python: the learners' and instructor's
    from course.core.exercises import load_course
    from course.notebooks import notebook_name

    # A's work from an earlier term: a lesson notebook A changed. Starting A's server must keep it.
    first = f"{notebook_name(load_course().lessons[0])}.ipynb"
    mine = _as(
        A,
        "sh",
        "-c",
        f"mkdir -m 700 -p ~/designing-scalable-ai && echo '{{\"mine\": 1}}' > ~/designing-scalable-ai/{first}",
    )
    assert mine.returncode == 0, mine.stderr
    started = time.monotonic()
    for user in (A, B):  # through the REST API, as an admin (the instructor's page does the same)
        status, body = hub.api("POST", f"/hub/api/users/{user}")
        assert status == 201, body
        status, body = hub.api("POST", f"/hub/api/users/{user}/server")
        assert status in (201, 202), body
    for user in (A, B):
        hub.wait_ready(user, SPAWN_S)
    spawned = time.monotonic() - started

    # A passes, B answers wrong: each learner's own check, in their own kernel and grading server.
    # The right option is the one the exercise's solution picks (the options move when rewritten).
    right = load_course().exercise(EXERCISE).step(None).solution.strip().splitlines()[-1]
    wrong = next(f"answer = {n}" for n in range(1, 5) if f"answer = {n}" != right)
    answers = {A: right, B: wrong}

    async def both():
        return await asyncio.gather(
            *[
                _execute(
                    hub,
                    user,
                    ["%load_ext course.jupyter", f"%%exercise {EXERCISE}\n{answers[user]}", f'check("{EXERCISE}")'],
                    CHECK_S,
                )
                for user in (A, B)
            ]
        )

    out_a, out_b = asyncio.run(both())
    assert f"{EXERCISE} passed" in out_a[2], out_a
    assert "passed" not in out_b[2] and EXERCISE in out_b[2], out_b
    assert "Checks go to your grading server" in out_a[0] or "Course tools ready" in out_a[0], out_a
    checked = time.monotonic() - started

    classdir = work / "class"
    homes = {user: Path(pwd.getpwnam(user).pw_dir) for user in (A, B)}
    uids = {user: pwd.getpwnam(user).pw_uid for user in (A, B)}
    # Each learner's notebooks were written into their home on their first start.
    notebooks = sorted((homes[B] / "designing-scalable-ai").glob("*.ipynb"))
    assert first in [n.name for n in notebooks], list(homes[B].iterdir())
    assert (homes[A] / "designing-scalable-ai" / first).read_text() == '{"mine": 1}\n'  # never overwritten
    assert len(list((homes[A] / "designing-scalable-ai").glob("*.ipynb"))) == len(notebooks)

    # The instructor (the instructors' group, not root) reads the class folder.
    book = _as(TEACHER, str(python), "-m", "course", "gradebook", str(classdir), "--csv")
    assert book.returncode == 0, book.stderr
    assert book.stderr == "", book.stderr
    import csv
    import io

    rows = {r["learner"]: r for r in csv.DictReader(io.StringIO(book.stdout))}
    assert set(rows) == {A, B}
    assert rows[A]["passed"] == "1" and rows[A]["lesson 1.1"] == "1"
    assert rows[B]["passed"] == "0"
    copy_b = json.loads((classdir / B / "progress.json").read_text())
    assert copy_b["exercises"][EXERCISE]["steps"]["1"]["attempts"] == 1  # B's check counted, as a fail

    # Learner A cannot read B's progress (class copy and own file), notebooks or grading socket.
    own = _as(A, "cat", str(classdir / A / "progress.json"))
    assert own.returncode == 0 and A in own.stdout  # A reads A's
    sockets = list(_grader_dir(uids[B]).glob("grader-*.sock"))
    assert len(sockets) == 1, "B's grading server should be listening"
    private = [
        classdir / B / "progress.json",
        homes[B] / ".local/share/designing-scalable-ai" / f"progress-{B}.json",
        notebooks[0],
    ]
    for path in private:
        assert path.exists()
        denied = _as(A, "cat", str(path))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (path, denied)
    listing = _as(A, "ls", str(classdir))
    assert listing.returncode != 0, listing.stdout  # nor see who else is in the class
    probe = (
        "import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print(type(e).__name__)\nelse:\n    print('connected')"
    )
    reached = _as(A, str(python), "-c", probe, str(sockets[0]))
    assert reached.stdout.strip() == "PermissionError", reached

    # A learner logs in with their own password (PAM) and lands on their own running server;
    # a wrong password does not get in.
    assert _run("chpasswd", input=f"{A}:{PASSWORD}\n{OUTSIDER}:{PASSWORD}\n").returncode == 0
    assert _log_in(hub.url, A, PASSWORD + "x")[0] == 403
    assert _log_in(hub.url, OUTSIDER, PASSWORD)[0] == 403  # right password, but not in the class
    status, landed = _log_in(hub.url, A, PASSWORD)
    assert status == 200 and landed.startswith(f"{hub.url}/user/{A}/"), (status, landed)

    # Both checks went through each learner's own grading server.
    for user in (A, B):
        logs = list(_grader_dir(uids[user]).glob("grader-*.log"))
        assert logs and f"{EXERCISE}: " in logs[0].read_text(), (user, [p.read_text()[-2000:] for p in logs])

    # What one active learner costs (their kernel after a check, Jupyter, grading server), and the hub.
    for who, pids in (
        (f"learner {A}", _processes_of(uids[A])),
        (f"learner {B}", _processes_of(uids[B])),
        ("the hub (proxy and idle culler included)", _hub_processes(hub.pid)),
    ):
        rss, pss, parts = _memory_of(pids)
        print(f"\n{who}: {rss:.0f} MiB RSS, {pss:.0f} MiB PSS over {len(parts)} processes")
        print("\n".join(parts))

    # Stopping a learner's server stops all of that learner's processes: Jupyter, kernel, grading server.
    stopping = time.monotonic() - started
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # at once: the hub answers a stop when it is done (or in 10 s)
        for status, body in pool.map(lambda user: hub.api("DELETE", f"/hub/api/users/{user}/server"), (A, B)):
            assert status in (202, 204), body
    deadline = time.monotonic() + 40
    while any(_processes_of(uid) for uid in uids.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        for uid in uids.values()
        for pid in _processes_of(uid)
        if Path(f"/proc/{pid}").exists()
    ]
    assert not left, left
    stopped = time.monotonic() - started
    print(
        f"servers ready in {spawned:.0f} s, both checks done at {checked:.0f} s, "
        f"stopped at {stopping:.0f} s, both gone at {stopped:.0f} s"
    )
