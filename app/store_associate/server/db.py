"""Engine, sessions and schema upgrades."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            # pysqlite's own transaction handling starts transactions late and lets a SAVEPOINT commit
            # work early; switch it off and let SQLAlchemy's begin (below) decide.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL: readers never block the writer; NORMAL is durable across app crashes in WAL mode.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # noqa: ANN001
            # IMMEDIATE: the write lock is taken at the start and waited for (busy_timeout). A deferred
            # transaction that reads and then writes fails at once with "database is locked" when
            # another writer got in between, and WAL readers are not blocked by it anyway.
            # A transaction that only reads (see read_only) takes no lock: it reads one snapshot and
            # lets writers work meanwhile.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        url = str(u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


READ_ONLY = "store_associate_read_only"


def read_only(session: Session) -> None:
    """The session's next transaction only reads: on SQLite it starts deferred (no write lock), so a long
    read such as a pull page does not hold up pushes. Call it before the transaction's first statement;
    nothing may be written in that transaction."""
    session.connection(execution_options={READ_ONLY: True})


_SQLITE_WRITER = threading.Lock()


def writer_turn(engine: Engine) -> contextlib.AbstractContextManager:
    """On SQLite, the process's writers (sync pushes, order intake batches) take turns on a lock here rather
    than in SQLite's busy handler, which sleeps in growing steps and so wastes most of a contended second.
    PostgreSQL locks rows, and needs nothing of this."""
    return _SQLITE_WRITER if engine.dialect.name == "sqlite" else contextlib.nullcontext()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_factory(engine: Engine):  # noqa: ANN201 - a generator dependency for FastAPI
    def get_session() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as session:
            yield session

    return get_session


def ping(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1
