"""Alembic environment: the URL comes from the caller (`transit db upgrade`) or TRANSIT_DATABASE_URL."""

from __future__ import annotations

from alembic import context

import transit.access.store  # noqa: F401
import transit.contracts.store  # noqa: F401
import transit.gtfs.store  # noqa: F401  (registers the tables on Base.metadata)
import transit.ledger.store  # noqa: F401
import transit.matching.store  # noqa: F401
import transit.telemetry.store  # noqa: F401
import transit.tickets.store  # noqa: F401
from transit.db import Base, make_engine
from transit.settings import Settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings().database_url


def run_migrations() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
