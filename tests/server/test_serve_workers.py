"""Several server processes: allowed on PostgreSQL only, with a message that says why; each process gets the
settings the command was given (handed over as an object, not through the environment)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import psutil
import pytest

from tests.conftest import free_port, make_enrolment_code, postgres_database, seed_database, wait_http


def test_more_than_one_process_on_sqlite_is_refused(tmp_path):
    env = {**os.environ, "STORE_ASSOCIATE_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    r = subprocess.run(
        [sys.executable, "-m", "store_associate", "serve", "--port", str(free_port()), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "needs PostgreSQL" in r.stderr and "--workers 1" in r.stderr
    assert not (tmp_path / "s.db").exists()  # nothing was started


@pytest.mark.postgres
def test_every_worker_serves_the_database_given_on_the_command_line(tmp_path):
    # No STORE_ASSOCIATE_* variable reaches the server: the database is an option of the command only. A worker
    # that read its settings anew would fall back to the default database, ./var/server.db (made at its start).
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_ASSOCIATE_")}
    (tmp_path / "var").mkdir()
    port = free_port()
    with postgres_database() as url:
        examples = seed_database(url, skus=30, locations=3)
        with (tmp_path / "server.log").open("wb") as log:
            proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "store_associate", "serve", "--port", str(port), "--workers", "2"]
                + ["--database-url", url],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_http(f"http://127.0.0.1:{port}/health", proc)
            workers = psutil.Process(proc.pid).children()
            assert len(workers) >= 2, (tmp_path / "server.log").read_text()
            for n in range(6):  # new connections, taken by whichever process accepts first
                code = make_enrolment_code(url, examples["store"])
                with httpx.Client() as client:
                    r = client.post(
                        f"http://127.0.0.1:{port}/api/v1/devices/enrol", json={"code": code, "name": f"w{n}"}
                    )
                assert r.status_code == 201, r.text
            assert all(w.is_running() for w in workers)
        finally:
            proc.terminate()
            assert proc.wait(timeout=30) == 0, (tmp_path / "server.log").read_text()
    assert not (tmp_path / "var" / "server.db").exists()
