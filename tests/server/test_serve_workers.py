"""Several server processes: allowed on PostgreSQL only, with a message that says why."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import free_port


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
