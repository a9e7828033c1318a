"""Throwaway servers for fault tests: PostgreSQL, Redis, NATS and the API, each our own process.

Fault tests kill and restart what they depend on, so they never touch the shared
services on the standard ports: every instance here listens on a free port of
127.0.0.1, keeps its data in a temporary directory and is stopped (and its
directory removed) by `close()`, which fixtures call in their finalisers.
Every wait is bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_BIN = Path(os.environ.get("ZHANGYIN_PG_BIN", "/usr/lib/postgresql/15/bin"))
SECRET = "reliability-secret-key-not-for-production"

#: Identity's rate limits would refuse a harness that registers many customers from one IP.
LOOSE_LIMITS = {
    "ZHANGYIN_SMS_PER_IP_PER_HOUR": "1000000",
    "ZHANGYIN_SMS_COOLDOWN_SECONDS": "0",
    "ZHANGYIN_LOGIN_PER_IP_PER_MINUTE": "1000000",
    "ZHANGYIN_LOGIN_PER_PHONE_PER_15MIN": "100000",
    "ZHANGYIN_ACCESS_TOKEN_MINUTES": "60",
    "ZHANGYIN_IDLE_TIMEOUT_MINUTES": "60",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(step)
    raise TimeoutError(f"{what} not reached within {timeout} s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def missing_tools() -> list[str]:
    """The programs the fault tests need that this machine lacks."""
    missing = [str(PG_BIN / t) for t in ("initdb", "pg_ctl") if not (PG_BIN / t).exists()]
    missing += [t for t in ("redis-server", "nats-server") if shutil.which(t) is None]
    return missing


def _stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


class Postgres:
    """A PostgreSQL cluster of our own (trust auth, TCP on 127.0.0.1 only)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.log = root / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(root, "postgres", "postgres")
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                   "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"], timeout=60)  # fmt: skip

    def _run(self, args: list[str], timeout: float) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run(prefix + args, check=True, capture_output=True, timeout=timeout)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                   "-o", options, "-w", "-t", "30", "start"], timeout=40)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster; `immediate` is a crash of the database (no checkpoint)."""
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30",
                   "stop"], timeout=40)  # fmt: skip

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and port_open(self.port)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")


class Redis:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.root)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.port), 10, "redis listening")

    def stop(self) -> None:
        _stop_process(self.proc)
        self.proc = None

    def close(self) -> None:
        self.stop()


class Nats:
    """nats-server with JetStream; its store survives a restart (same directory)."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.store = root / "jetstream"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = ["nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
                str(self.store)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.port), 10, "nats listening")

    def stop(self) -> None:
        _stop_process(self.proc)
        self.proc = None

    def close(self) -> None:
        self.stop()


class Api:
    """`python -m zhangyin serve` in a subprocess, configured by environment variables."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.port = free_port()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("ZHANGYIN_", "PYTEST"))}
        for name in ("DATABASE_URL", "REDIS_URL", "NATS_URL"):
            keep.pop(name, None)
        return {
            **keep,
            "ZHANGYIN_SECRET_KEY": SECRET,
            "ZHANGYIN_DEMO": "1",
            "LOG_LEVEL": "WARNING",
            # Never the shared clearing simulator: a closed port unless the test gives one.
            "ZHANGYIN_CLEARING_URL": f"http://127.0.0.1:{free_port()}",
            **LOOSE_LIMITS,
            **self.env,
        }

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "zhangyin", "migrate"],
            env=self._environment(),
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout: float = 120, *, workers: int = 1) -> None:
        self.starts += 1
        log = open(self.root / f"api-{self.starts}.log", "wb")  # noqa: SIM115 - lives with proc
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zhangyin",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=self._environment(),
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"API exited: {self.logs()[-2000:]}")
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if up():
                    return
            except RuntimeError:
                raise
            except Exception:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"API not up within {timeout} s: {self.logs()[-2000:]}")

    def kill9(self) -> None:
        """A crash: no shutdown hooks, no flushing, requests in flight cut."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_bytes(self) -> int:
        import psutil

        assert self.proc is not None
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.root.glob("api-*.log")))

    def errors(self, limit: int = 3) -> list[str]:
        """The server's error log lines (the first few), to explain a failed assertion."""
        lines = [line for line in self.logs().splitlines() if '"level": "error"' in line]
        return [line[:3000] for line in lines[:limit]]

    def close(self) -> None:
        _stop_process(self.proc)
        self.proc = None


class Stack:
    """What one fault test runs on; `close()` stops everything it started, in reverse order."""

    def __init__(
        self, *, redis: bool = False, nats: bool = False, env: dict[str, str] | None = None
    ):
        self.root = Path(tempfile.mkdtemp(prefix="zy-rel-"))
        self._closers: list[Callable[[], Any]] = [lambda: shutil.rmtree(self.root, True)]
        try:
            self.root.chmod(0o755)  # the postgres user must reach its data directory
            pg_root = self.root / "pg"
            pg_root.mkdir()
            self.pg = Postgres(pg_root)
            self.pg.start()
            self._closers.append(self.pg.close)
            self.database_url = self.pg.create_database("zhangyin")
            api_env = {"DATABASE_URL": self.database_url, **(env or {})}
            self.redis: Redis | None = None
            self.nats: Nats | None = None
            if redis:
                self.redis = Redis(self.root)
                self._closers.append(self.redis.close)
                self.redis.start()
                api_env["REDIS_URL"] = self.redis.url
            if nats:
                self.nats = Nats(self.root)
                self._closers.append(self.nats.close)
                self.nats.start()
                api_env["NATS_URL"] = self.nats.url
            self.api = Api(self.root, api_env)
            self._closers.append(self.api.close)
            self.api.migrate()
        except BaseException:
            self.close()
            raise

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the throwaway database directly (what the clients cannot see)."""
        url = self.database_url
        with psycopg.connect(url, connect_timeout=5) as conn:  # commits when the block ends
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        keep = os.environ.get("ZHANGYIN_KEEP_API_LOGS")
        if keep:  # debugging a failure: keep the server's log after the stack is gone
            with contextlib.suppress(Exception):
                Path(keep).write_text(self.api.logs())
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()
