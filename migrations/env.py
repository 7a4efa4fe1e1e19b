"""Alembic environment: uses the engine dotsync hands over, or DOTSYNC_DATABASE_URL / alembic.ini."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Engine

from dotsync.db import models  # noqa: F401  (registers every table on the metadata)
from dotsync.db.engine import make_engine
from dotsync.db.types import metadata
from dotsync.errors import DotsyncError

config = context.config
target_metadata = metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    url = os.environ.get("DOTSYNC_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set DOTSYNC_DATABASE_URL")
    return make_engine(url)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a SQLite table (copy, drop the old one, rename): with foreign keys on, dropping
            # the old address_book would cascade and empty address_book_contact. Off for the migration (outside
            # a transaction, where SQLite honours it), checked after, and on again for the pooled connection.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise DotsyncError(
                            f"the migration left rows with dangling foreign keys: {broken[:5]}"
                        )
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
