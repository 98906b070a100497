"""Driving the real program from tests: a config file for a bot on a free port, the `gongkai`
command line in-process, and `gongkai run` as a subprocess."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from bot.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(tmp_path: Path, database_url: str, extra: str = "", *, migrate: bool = True,
            **more: Any) -> dict:
    """Write a config for a bot with its own data dir, database and port (no sample content,
    quick refresh and polling); ``extra`` is appended TOML. Creates the store (``db upgrade``)
    unless ``migrate`` is false. Returns the test's ``env``."""
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"""
[bot]
data_dir = "{tmp_path / 'var'}"
database_url = "{database_url}"
load_sample = false
[web]
listen = "127.0.0.1:{port}"
[schedule]
refresh_seconds = 0.2
[delivery]
poll_seconds = 0.2
""" + extra, encoding="utf-8")
    env = {"config": config, "port": port, "dir": tmp_path, **more}
    if migrate:
        invoke(env, "db", "upgrade", user=None)
    return env


def invoke(env: dict, *args: str, user: str | None = "alice", code: int | None = 0,
           input: str | None = None) -> Result:
    """Run ``gongkai --config … ARGS --as USER`` in-process and check its exit status."""
    argv = ["--config", str(env["config"]), *args]
    if user:
        argv += ["--as", user]
    result = CliRunner().invoke(main, argv, input=input, catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def cli_json(env: dict, *args: str, user: str | None = "alice", code: int = 0) -> dict:
    """The one JSON document a command prints with --json."""
    return json.loads(invoke(env, *args, "--json", user=user, code=code).stdout)


def run_cli(env: dict, *args: str, user: str | None = "alice") -> subprocess.CompletedProcess:
    """``gongkai --config … ARGS --as USER`` as a real process: exactly what a terminal shows."""
    argv = [sys.executable, "-m", "bot.cli", "--config", str(env["config"]),
            *(["--as", user] if user else []), *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=env["dir"], timeout=120,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", "GONGKAI_USER": ""})


_MANY = """
import json, sys
from bot.cli import main
for argv in json.load(sys.stdin):
    print("\\x1e", flush=True)
    print("\\x1e", file=sys.stderr, flush=True)
    try:
        main.main(argv, prog_name="gongkai")
    except SystemExit as exc:
        print(f"\\x1d{exc.code if isinstance(exc.code, int) else int(exc.code is not None)}", flush=True)
"""


def run_cli_many(env: dict, commands: list[list[str]], user: str | None = "alice") -> list[tuple[int, str]]:
    """Many commands run one after the other by ONE real process (a process each costs seconds):
    (exit status, everything the terminal shows) for each. An exception that escapes the command
    line stops the process with its traceback, which the caller then sees."""
    argvs = [["--config", str(env["config"]), *(["--as", user] if user else []), *args] for args in commands]
    proc = subprocess.run([sys.executable, "-c", _MANY], input=json.dumps(argvs), capture_output=True,
                          text=True, cwd=env["dir"], timeout=600,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", "GONGKAI_USER": ""})
    outs, errs = proc.stdout.split("\x1e\n")[1:], proc.stderr.split("\x1e\n")[1:]
    results = []
    for out, err in zip(outs, errs):
        shown, _, code = out.rpartition("\x1d")
        results.append((int(code) if code.strip().isdigit() else -1, shown + err))
    if len(results) < len(commands) or proc.returncode != 0:
        raise AssertionError(f"the command line died: {proc.stderr[-3000:]}")
    return results


def start_bot(env: dict, *, quiet: bool = False) -> subprocess.Popen:
    """``gongkai run`` in a subprocess; returns once it answers HTTP."""
    out = subprocess.DEVNULL if quiet else subprocess.PIPE
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(env["config"]), "run"],
                            stdout=out, stderr=subprocess.STDOUT if not quiet else subprocess.DEVNULL,
                            text=True, cwd=env["dir"], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{env['port']}/healthz", timeout=1)
            return proc
        except urllib.error.HTTPError:
            return proc  # answering (503 until the ticker's first heartbeat)
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read() if proc.stdout else "the bot exited at start") from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the bot did not start listening")


def stop_bot(proc: subprocess.Popen) -> str:
    """SIGTERM, and the bot must stop cleanly."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    return out or ""
