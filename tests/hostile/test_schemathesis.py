"""Schemathesis against the live /openapi.json, signed in as a customer: no 500, bodies match.

The seed is fixed so that a failure replays (`st run ... --seed 8`); the run is
bounded in examples per operation and in time. Stateful links are followed where
the document declares them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.hostile.conftest import Live

SEED = 8


def test_every_operation_survives_generated_requests(live: Live, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    # The live document, saved first: building it the first time can be slow on a busy machine.
    spec = tmp_path / "openapi.json"
    spec.write_bytes(live.http.get("/openapi.json", timeout=120).content)
    result = subprocess.run(
        [
            str(st),
            "run",
            str(spec),
            "--url",
            live.stack.api.url,
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--seed",
            str(SEED),
            "--max-examples",
            "3",
            "--max-time",
            "75",
            "--no-shrink",
            "--workers",
            "2",
            "--request-timeout",
            "15",
            "--header",
            f"Authorization: Bearer {live.customer.token}",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    # The failures section names the operation and a curl line to replay it.
    failures = output.find("FAILURES")
    assert result.returncode == 0, output[failures if failures >= 0 else -6000 :][:8000]
    assert "Tested:" in output
    assert live.http.get("/healthz").status_code == 200
