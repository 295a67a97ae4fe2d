"""Many rows in one statement, with as little work per row as the database allows: what lets a push of
hundreds of stock changes, or a batch of web-shop orders, cost a dozen statements rather than thousands."""

from __future__ import annotations

import orjson
from sqlalchemy import JSON, Executable
from sqlmodel import Session

_PLANS: dict[tuple[Executable, tuple[str, ...]], tuple[str, tuple]] = {}


def executemany(session: Session, statement: Executable, rows: list[dict]) -> None:
    """`session.execute(statement, rows)`, with less work per row on SQLite.

    SQLAlchemy builds and type-converts every row's parameters on its own (most of a push's time on
    SQLite, where the database itself is fast). Here the statement is compiled once per set of keys
    and handed to the driver as one executemany of tuples, each value converted by its column type's
    own bind processor (once per distinct object: a batch's timestamps are one object). PostgreSQL
    keeps SQLAlchemy's path, which sends a batch of inserts as multi-row VALUES. Every row has the
    keys of the first; a statement's bind parameters must not be named like its table's columns
    (column_keys would add them to an UPDATE's SET)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        conn.execute(statement, rows)
        return
    keys = tuple(rows[0])
    plan = _PLANS.get((statement, keys))
    if plan is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        columns = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if isinstance(bind.type, JSON):
                process = _json_text  # what the JSON type stores, made by orjson (the values came from JSON)
            if name in keys:
                columns.append((name, process, None))
            else:  # a column left to its Python-side default: a scalar, or a function (called once)
                default = statement.table.c[name].default  # type: ignore[attr-defined]
                if default is None or not (default.is_scalar or default.is_callable):
                    raise ValueError(f"no value for {name}")
                columns.append((None, process, default.arg if default.is_scalar else default))
        plan = _PLANS[(statement, keys)] = (compiled.string, tuple(columns))
    sql, columns = plan
    converted: list[list] = []
    for name, process, default in columns:
        if name is None:
            value = default.arg(None) if hasattr(default, "is_callable") else default  # type: ignore[union-attr]
            value = process(value) if process else value
            converted.append([value] * len(rows))
        elif process is None:
            converted.append([r[name] for r in rows])
        else:
            memo: dict[int, object] = {}
            values = []
            for r in rows:
                v = r[name]
                key = id(v)
                if key not in memo:
                    memo[key] = process(v)
                values.append(memo[key])
            converted.append(values)
    conn.exec_driver_sql(sql, list(zip(*converted, strict=True)))


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()  # (None too is stored as JSON null, as the JSON type does)
