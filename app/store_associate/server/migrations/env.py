"""Alembic environment: runs on the connection handed in by db.upgrade(), or on a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

from store_associate.server import models  # noqa: F401  (registers the tables)
from store_associate.server import money_models  # noqa: F401  (balances, payments)
from store_associate.server.returns import models as return_models  # noqa: F401  (customer returns)

config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from store_associate.config import Settings  # the alembic command line: a process of its own

    section = config.get_section(config.config_ini_section) or {}
    section.setdefault("sqlalchemy.url", Settings().database_url)
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
