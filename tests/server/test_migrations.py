"""The tables in server/models.py and the Alembic migrations describe one schema: a database brought to the
newest revision has nothing that autogenerate would add, drop or alter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, DateTime, MetaData, Table, insert, select, text
from sqlmodel import SQLModel

from store_associate.server import (
    models,
    money_models,  # noqa: F401  (its tables are part of the schema)
)
from store_associate.server.db import make_engine, upgrade
from store_associate.server.returns import models as return_models  # noqa: F401  (its tables are part of the schema)
from tests.conftest import database


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False, "render_as_batch": True}
            )
            return [d for d in compare_metadata(context, SQLModel.metadata) if not _alembic_own(d)]
    finally:
        engine.dispose()


def _alembic_own(diff: object) -> bool:
    # Alembic's version table is in the database, not in the models.
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_models_and_migrations_agree(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        assert _differences(url) == []


def test_every_timestamp_column_is_utc() -> None:
    """One type for every time the server stores: read back aware and in UTC on both databases."""
    plain = [
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime)  # (UTCDateTime wraps a DateTime: it is not one)
    ]
    assert plain == []


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_utc_datetime_round_trip(kind: str, tmp_path: Path) -> None:
    """An aware time of any offset is stored as its UTC instant and read back aware in UTC; a naive one is UTC.
    On PostgreSQL the session's time zone is set elsewhere, so the reading must not depend on it."""
    table = Table("t", MetaData(), Column("at", models.UTCDateTime()))
    noon_utc = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    written = [noon_utc.astimezone(timezone(timedelta(hours=-5))), noon_utc.replace(tzinfo=None), None]
    with database(kind, tmp_path) as url:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                if kind == "postgres":
                    conn.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
                table.create(conn)
                conn.execute(insert(table), [{"at": t} for t in written])
                read = conn.execute(select(table.c.at)).scalars().all()
        finally:
            engine.dispose()
    assert read == [noon_utc, noon_utc, None]
    assert all(t is None or t.utcoffset() == timedelta(0) for t in read)


def test_utc_datetime_reads_other_sqlite_text(tmp_path: Path) -> None:
    """Text another writer left in SQLite (with an offset of its own, or a bare date) is read as its UTC instant."""
    table = Table("t", MetaData(), Column("at", models.UTCDateTime()))
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with engine.begin() as conn:
            table.create(conn)
            conn.execute(text("INSERT INTO t (at) VALUES ('2026-03-01 14:00:00+02:00'), ('2026-03-01')"))
            read = conn.execute(select(table.c.at)).scalars().all()
    finally:
        engine.dispose()
    assert read == [datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)]
    assert all(t.tzinfo is UTC for t in read)
