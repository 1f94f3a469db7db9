"""The migrations build exactly the schema the models declare, on each database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

import transit.gtfs.store
import transit.ledger.store
import transit.matching.store
import transit.telemetry.store  # noqa: F401  (registers its tables)
from transit import migrate
from transit.db import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert transit.gtfs.store.FeedVersionRow.__tablename__ in Base.metadata.tables
    assert transit.matching.store.VerdictRow.__tablename__ in Base.metadata.tables
    assert transit.matching.store.TripSignalRow.__tablename__ in Base.metadata.tables
    assert transit.ledger.store.LedgerEventRow.__tablename__ in Base.metadata.tables
    assert differences == []


def test_the_database_is_at_the_head_revision(database_url: str) -> None:
    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_the_revisions_read_without_alembic_are_the_ones_alembic_reads(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert (
            migrate.current_revision(database_url)
            == MigrationContext.configure(connection).get_current_revision()
        )
    engine.dispose()
    assert migrate.head_revision() == ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
