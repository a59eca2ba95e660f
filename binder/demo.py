"""The campfire demo end to end: build the demo archive, serve it, sync, download, open JupyterLab.

One script for ``make demo``, Binder (``binder/postBuild`` and ``binder/start``) and CI
(``tests/test_binder.py``)::

    python binder/demo.py build            # build the demo archive if it is not there yet
    python binder/demo.py start            # + serve it in the background, sync, download one
                                           #   observation; prints `export ...` lines for a shell
    python binder/demo.py lab              # build, serve, sync, download, then JupyterLab on the
                                           #   explorer notebook; Ctrl-C stops both
    python binder/demo.py stop             # stop the server `start` left running

Where things go (options, else environment, else the default):

==============  =====================  ==========================  ===========================
option          environment            default                     what
==============  =====================  ==========================  ===========================
``--archive``   ``CAMPFIRE_ARCHIVE``   ``<repo>/.demo/archive``    the served archive
``--data``      ``CAMPFIRE_ROOT``      ``<repo>/.demo/data``       the client's data directory
``--scale``     ``CAMPFIRE_DEMO_SCALE``  ``small``                 demo size (``tiny`` for CI)
``--port``      ``CAMPFIRE_DEMO_PORT``   ``8765``                  ``0`` takes a free port
``--download``  ``CAMPFIRE_DEMO_DOWNLOAD``  ``ember_uds_p4``       observation to download
``--env-file``  ``CAMPFIRE_DEMO_ENV``  ``<repo>/.demo/env``        the shell's settings
==============  =====================  ==========================  ===========================

The server's output goes to ``<archive>/server.log`` and its process id to
``<archive>/server.pid``; a later ``start`` reuses a server that is still answering. ``start``
and ``lab`` write the client's settings (archive URL, demo key, absolute data directory, the
venv's ``bin`` on ``PATH``) to the env file, so another terminal only needs
``source .demo/env``. While the archive is built, a line says what is being made at least
every 15 seconds (``CAMPFIRE_DEMO_HEARTBEAT``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
USER = 0  # the demo user the notebooks work as: alice, who sees every program
READY_TIMEOUT = 120.0  # seconds for a started server to answer
#: what each demo user's key sees (demo-users.json has the keys; generate.DEMO_USERS the grants)
WHO_SEES = {
    "alice": "every program (admin)",
    "bob": "the public programs only",
    "carol": "RUBIES and the public programs",
}


def say(message: str) -> None:
    """Progress for the person watching (stderr: stdout is for the `export` lines)."""
    print(f"campfire demo: {message}", file=sys.stderr, flush=True)


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and what to look at."""


# -- the archive ----------------------------------------------------------------------------------
def build(archive: Path, scale: str, seed: int = 42) -> None:
    """Build the demo archive into ``archive`` unless one is there already."""
    from campfire.server.archive import is_archive
    from campfire.server.demo.archive import build_demo_archive

    if is_archive(archive):
        say(f"demo archive already in {archive}")
        return
    if archive.exists() and any(archive.iterdir()):
        raise DemoError(
            f"{archive} is not empty and holds no archive; remove it, or pass --archive to "
            "build the demo somewhere else (nothing was changed)"
        )
    say(f"building the {scale} demo archive in {archive} (once; later runs reuse it)")
    heartbeat = float(os.environ.get("CAMPFIRE_DEMO_HEARTBEAT") or 15.0)
    with BuildProgress(say, heartbeat) as progress:
        build_demo_archive(archive, scale=scale, seed=seed, progress=progress)
    say(f"built in {progress.elapsed():.0f} s")


class BuildProgress:
    """The build's progress for the person watching: each step as it starts, ``stage
    done/total`` counts (at most one line every two seconds), and, when nothing was said for
    ``heartbeat`` seconds, a line with the elapsed time and what is being made, so a long
    build is never silent. Called as ``progress(message)`` or ``progress(stage, done, total)``.
    """

    def __init__(self, out: Any, heartbeat: float = 15.0, clock: Any = time.monotonic) -> None:
        self.out, self.heartbeat, self.clock = out, heartbeat, clock
        self.started = self.said = clock()
        self.stage = self._base = "starting"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def elapsed(self) -> float:
        """Seconds since the build started."""
        return float(self.clock() - self.started)

    def _say(self, text: str) -> None:
        with self._lock:
            self.said = self.clock()
            self.out(f"  [{self.elapsed():4.0f} s] {text}")

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        """Report a step (``stage``) or a count within one (``stage, done, total``)."""
        if done is None or total is None:
            self.stage = self._base = stage
            self._say(stage)
            return
        changed, self._base = stage != self._base, stage
        self.stage = f"{stage} {done}/{total}"
        if changed or done >= total or self.clock() - self.said >= 2.0:
            self._say(self.stage)

    def beat(self) -> None:
        """Say what is being made if nothing was said for ``heartbeat`` seconds."""
        if self.clock() - self.said >= self.heartbeat:
            self._say(f"still building: {self.stage}")

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat)):
            self.beat()

    def __enter__(self) -> BuildProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- the server -----------------------------------------------------------------------------------
def _answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/version", timeout=3) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")  # where we can tell, make sure it is our server
    if cmdline.is_file():
        words = cmdline.read_bytes().split(b"\0")
        return b"campfire" in words and b"serve" in words
    return True


def running_url(archive: Path) -> str | None:
    """The base URL of a server an earlier ``start`` left serving ``archive``, if it answers."""
    pid_file, users = archive / "server.pid", archive / "demo-users.json"
    if not (pid_file.is_file() and users.is_file()):
        return None
    try:
        pid = int(pid_file.read_text().split()[0])
        base_url = json.loads(users.read_text()).get("base_url")
    except (ValueError, IndexError, json.JSONDecodeError):
        return None
    if base_url and _alive(pid) and _answers(base_url):
        return str(base_url)
    return None


def serve(archive: Path, port: int, scale: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``campfire serve`` over ``archive``; return the process and its base URL once it
    answers. It runs in its own session: a Ctrl-C meant for JupyterLab does not reach it, and
    it outlives this script (``stop`` ends it).
    """
    log_path = archive / "server.log"
    cmd = [sys.executable, "-m", "campfire", "serve", "--demo", "--scale", scale,
           "--archive", str(archive), "--port", str(port)]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    (archive / "server.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + READY_TIMEOUT
    base_url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            (archive / "server.pid").unlink(missing_ok=True)
            said = log_path.read_text(errors="replace")
            hint = (
                "\nAnother program holds the port: `make demo DEMO_PORT=8766` (or 0 for any "
                "free port), or CAMPFIRE_DEMO_PORT for binder/start."
                if "cannot listen" in said
                else ""
            )
            raise DemoError(
                f"the archive server stopped (exit {proc.returncode}); its output, from "
                f"{log_path}:\n{said[-2000:]}{hint}"
            )
        if base_url is None:
            found = re.search(r" at (http://\S+/api/v1)", log_path.read_text(errors="replace"))
            base_url = found.group(1) if found else None
        if base_url and _answers(base_url):
            return proc, base_url
        time.sleep(0.2)
    stop_process(proc.pid)
    raise DemoError(
        f"the archive server did not answer within {READY_TIMEOUT:.0f} s; see {log_path}"
    )


def stop_process(pid: int) -> None:
    """Stop the server process ``pid`` (SIGTERM, then SIGKILL after 10 s)."""
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:  # reap it if it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            if not _alive(pid):
                return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def stop(archive: Path) -> bool:
    """Stop the server an earlier ``start`` left running for ``archive``; True if there was one."""
    pid_file = archive / "server.pid"
    if not pid_file.is_file():
        return False
    pid = int(pid_file.read_text().split()[0])
    found = _alive(pid)
    stop_process(pid)
    pid_file.unlink(missing_ok=True)
    return found


# -- the client side ------------------------------------------------------------------------------
def client_env(archive: Path, base_url: str, data: Path) -> dict[str, str]:
    """What a notebook kernel needs: the archive URL, the demo key and the data directory."""
    users = json.loads((archive / "demo-users.json").read_text())["users"]
    return {
        "CAMPFIRE_API_URL": base_url,
        "CAMPFIRE_API_KEY": users[USER]["api_key"],
        "CAMPFIRE_ROOT": str(data),
        "CAMPFIRE_ARCHIVE": str(archive),
    }


def sync_and_download(env: dict[str, str], observation: str | None) -> None:
    """Sync the catalog into the demo data directory and download one observation."""
    os.environ.update(env)
    from campfire import Campfire

    cf = Campfire()
    result = cf.sync()
    say(
        f"synced {result['observations']} observations, {result['objects']} objects, "
        f"{result['spectra']} spectra into {cf.data_dir}"
    )
    if observation:
        got = cf.download(observations=[observation])
        if not got.ok:
            reasons = "; ".join(f"{f.local_path}: {f.reason}" for f in got.failures[:3])
            raise DemoError(f"{got.failed} file(s) of {observation} failed to download: {reasons}")
        say(f"downloaded {observation}: {got.downloaded} new file(s), {got.bytes / 1e6:.1f} MB")


def start(args: argparse.Namespace) -> tuple[dict[str, str], int | None]:
    """Build if needed, serve (or reuse a server), sync and download; return the client's
    environment and the pid of a server this call started.
    """
    build(args.archive, args.scale)
    base_url = running_url(args.archive)
    pid = None
    if base_url:
        say(f"reusing the archive server at {base_url}")
    else:
        proc, base_url = serve(args.archive, args.port, args.scale)
        pid = proc.pid
        say(f"serving {args.archive} at {base_url} (log: {args.archive / 'server.log'})")
    env = client_env(args.archive, base_url, args.data)
    sync_and_download(env, args.download or None)
    write_env_file(args.env_file, env)
    say(f"settings for a shell written to {args.env_file} (source it)")
    return env, pid


def exports(env: dict[str, str]) -> str:
    """``export NAME='value'`` lines a POSIX shell can ``eval``."""
    return "".join(f"export {k}='{v}'\n" for k, v in env.items())


def write_env_file(path: Path, env: dict[str, str]) -> Path:
    """Write ``env`` as a file a shell can ``source`` (with the venv's ``bin`` on ``PATH`` and
    a note on the demo keys), atomically; return its path.
    """
    users = ", ".join(f"{name}: {what}" for name, what in WHO_SEES.items())
    bin_dir = Path(sys.executable).parent
    lines = [
        "# campfire demo settings: `source .demo/env` in a shell, then `campfire ...`.",
        f"# Written by binder/demo.py (make demo) at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC;"
        " the server runs while make demo does.",
        f"# The key is {list(WHO_SEES)[USER]}'s. What each demo key sees: {users}.",
        "# Keys: .demo/archive/demo-users.json. Switching keys? Use another CAMPFIRE_ROOT: a",
        "# sync with a key that sees less removes the rows it no longer sees.",
        f"export PATH='{bin_dir}':\"$PATH\"" if (bin_dir / "campfire").exists() else "",
    ]
    text = "\n".join(ln for ln in lines if ln) + "\n" + exports(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def lab(args: argparse.Namespace) -> int:
    """``make demo``: everything, then JupyterLab on the explorer notebook until Ctrl-C."""
    if not _importable("jupyterlab"):
        raise DemoError("JupyterLab is not installed: pip install jupyterlab (make install does)")
    env, pid = start(args)
    users = json.loads((args.archive / "demo-users.json").read_text())["users"]
    lines = ["", "The demo archive is served at " + env["CAMPFIRE_API_URL"], "Demo users:"]
    for u in users:
        name = u["email"].split("@")[0]
        lines.append(f"  {u['email']:<22} password {u['password']:<20} api key {u['api_key']}")
        lines.append(f"  {'':<22} sees {WHO_SEES.get(name, ', '.join(u['programs']))}")
    here = Path.cwd()
    env_file = args.env_file.relative_to(here) if args.env_file.is_relative_to(here) else None
    lines += [
        "",
        f"In another terminal, in this directory: source {env_file or args.env_file}",
        f"(the key is {list(WHO_SEES)[USER]}'s; use another CAMPFIRE_ROOT to try another key)",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1",
           f"--ServerApp.root_dir={REPO}", "notebooks/explorer.ipynb"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers, CI: JupyterLab asks for this
        cmd.insert(3, "--allow-root")
    if not _has_display():
        cmd.insert(3, "--no-browser")
        say("no display here: open the http://127.0.0.1:... URL JupyterLab prints below")
    lab_proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env})
    # Ctrl-C belongs to JupyterLab (it asks to confirm, or stops on a second one); a SIGTERM is
    # passed on to it. Either way we wait for it, then stop the archive server.
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda *_: lab_proc.terminate()),
    }
    try:
        return lab_proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if pid is not None:
            stop_process(pid)
            (args.archive / "server.pid").unlink(missing_ok=True)
            say("archive server stopped")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments, with the defaults of the module docstring."""
    env = os.environ
    p = argparse.ArgumentParser(prog="binder/demo.py", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["build", "start", "lab", "stop"])
    p.add_argument(
        "--archive",
        type=Path,
        default=Path(env.get("CAMPFIRE_ARCHIVE") or REPO / ".demo" / "archive"),
    )
    p.add_argument(
        "--data", type=Path, default=Path(env.get("CAMPFIRE_ROOT") or REPO / ".demo" / "data")
    )
    p.add_argument(
        "--scale",
        choices=["tiny", "small", "large"],
        default=env.get("CAMPFIRE_DEMO_SCALE") or "small",
    )
    p.add_argument("--port", type=int, default=int(env.get("CAMPFIRE_DEMO_PORT") or 8765))
    p.add_argument("--download", default=env.get("CAMPFIRE_DEMO_DOWNLOAD", "ember_uds_p4"),
                   help="observation to download ('' for none)")  # fmt: skip
    p.add_argument(
        "--env-file",
        type=Path,
        default=Path(env.get("CAMPFIRE_DEMO_ENV") or REPO / ".demo" / "env"),
        help="where start/lab write the settings a shell sources",
    )
    args = p.parse_args(argv)
    args.archive = args.archive.expanduser().resolve()
    args.data = args.data.expanduser().resolve()
    args.env_file = args.env_file.expanduser().absolute()
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors are one clear line and exit status 1."""
    args = parse(argv)
    try:
        if args.command == "build":
            build(args.archive, args.scale)
        elif args.command == "start":
            env, _ = start(args)
            sys.stdout.write(exports(env))
        elif args.command == "stop":
            say("archive server stopped" if stop(args.archive) else "no archive server running")
        else:
            return lab(args)
    except Exception as exc:
        from campfire.errors import CampfireError

        if not isinstance(exc, DemoError | CampfireError | ValueError | OSError):
            raise
        say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
