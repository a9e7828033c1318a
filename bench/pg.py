"""Throwaway PostgreSQL databases for benchmarks, and pgbench as the anchor."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("ZHANGYIN_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def url_for(dbname: str) -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{dbname}"


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pgbench_tps(*, clients: int, seconds: int, scale: int = 10) -> float:
    """TPC-B-like pgbench (two balance updates, a select, a history insert) on a fresh database."""
    if shutil.which("pgbench") is None:
        raise SystemExit(
            "pgbench is not installed (Debian: postgresql-contrib / postgresql-client)"
        )
    host = re.search(r"@([^:/]+)", ADMIN_URL)
    port = re.search(r":(\d+)/", ADMIN_URL)
    args = [
        "-h",
        host.group(1) if host else "127.0.0.1",
        "-p",
        port.group(1) if port else "5432",
        "-U",
        "postgres",
    ]
    with throwaway_database("zy_pgbench") as name:
        subprocess.run(
            ["pgbench", *args, "-i", "-q", "-s", str(scale), name], check=True, capture_output=True
        )
        result = subprocess.run(
            [
                "pgbench",
                *args,
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-M",
                "prepared",
                name,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if match is None:
        raise RuntimeError(f"could not read pgbench output:\n{result.stdout}")
    return float(match.group(1))
