"""What the API tests share: a client on the module's server, and a statement run on its database."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session

from store_associate.server.db import make_engine


@pytest.fixture(scope="module")
def api(server):  # noqa: ANN001, ANN201 - the parametrised server fixture of tests/conftest.py
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def db_exec(server, statement) -> None:  # noqa: ANN001
    """Run one statement on the server's database and commit (a test moving time or state behind the API)."""
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        s.execute(statement)
        s.commit()
    engine.dispose()
