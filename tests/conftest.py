"""Shared fixtures: the real data folder, real databases (SQLite and PostgreSQL), and the CLI as a subprocess.

Environment:
- TRANSIT_TEST_DATABASE: which backends the `database_url` fixture gives: "sqlite", "postgresql", or both
  (default "sqlite,postgresql"; PostgreSQL tests then skip when no server answers, except in CI).
- TRANSIT_TEST_POSTGRES_URL: an existing database to connect through (default: the machine's server,
  database "test"); each test gets a fresh database cloned from a migrated template.
- CI=true turns every "skip because a real service or ../shared/data is missing" into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.broker import Mosquitto, mosquitto_binary
from tests.support import DEFAULT_POSTGRES_URL, IN_CI, SHARED_DATA
from transit import migrate

APP_ROLE = "transit_app"
BACKENDS = [
    b.strip() for b in os.environ.get("TRANSIT_TEST_DATABASE", "sqlite,postgresql").split(",") if b.strip()
]


def missing(reason: str) -> None:
    """Skip for a missing real service or data folder, but fail in CI, where it must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real feeds and pings in ../shared/data."""
    if not SHARED_DATA.is_dir():
        missing(f"the real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cairns_feed(shared_data: Path) -> Path:
    return shared_data / "cairns_gtfs_2014" / "cairns_gtfs.zip"


@pytest.fixture(scope="session")
def seattle_feed(shared_data: Path) -> Path:
    return shared_data / "seattle_area_gtfs_2017" / "gtfs"


@pytest.fixture(scope="session")
def bad_gtfs(shared_data: Path) -> Path:
    return shared_data / "bad_gtfs"


# --- databases ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    """(admin URL, template database name): a database migrated once per session, cloned per test."""
    admin_url = os.environ.get("TRANSIT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: no usable server here
        engine.dispose()
        missing(f"PostgreSQL does not answer at {make_url(admin_url).render_as_string()}: {exc}")
    template = f"transit_tpl_{uuid.uuid4().hex[:10]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{template}"'))
    migrate.upgrade(make_url(admin_url).set(database=template).render_as_string(hide_password=False))
    yield admin_url, template
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend under test."""
    if request.param == "sqlite":
        path = tmp_path / "transit.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    yield from _postgres_database(request)


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database, for command-line tests whose subject is not the database."""
    path = tmp_path / "transit.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, for what only PostgreSQL does (mark such tests `postgres`)."""
    yield from _postgres_database(request)


def _uses_database(item: pytest.Item) -> bool:
    return "database_url" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Passes on one backend split the suite: a pass on SQLite alone leaves out the PostgreSQL-only tests;
    a pass on PostgreSQL alone runs only the tests that touch a database (the SQLite pass ran the rest)."""
    if BACKENDS == ["postgresql"]:
        kept = [item for item in items if item.get_closest_marker("postgres") or _uses_database(item)]
    elif "postgresql" not in BACKENDS:
        kept = [item for item in items if item.get_closest_marker("postgres") is None]
    else:
        return
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`--dist loadgroup` sends the tests of one `xdist_group` to one worker by a suffix it puts on their ids.
    With pytest 9.2 and pytest-xdist 3.8 the suffix does not take (pytest-xdist#1386): each group is split
    over the workers, and each worker builds the group's world again. Fail rather than run so."""
    grouped = getattr(item.config.option, "loadgroup", False) and item.get_closest_marker("xdist_group")
    if grouped and "@" not in item.nodeid:
        pytest.fail("--dist loadgroup did not keep this test's xdist_group together (pytest-xdist#1386; "
                    "constraints.txt pins a pytest that works)", pytrace=False)  # fmt: skip


def _postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    admin_url, template = request.getfixturevalue("postgres_template")
    name = f"transit_t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    # The service connects as its own role (migration 0006), and so does the suite: whatever it does must be
    # allowed to that role. `as_owner` gives the owner's URL for what only an administrator does.
    yield make_url(admin_url).set(database=name, username=APP_ROLE).render_as_string(hide_password=False)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


# --- the broker --------------------------------------------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto of this test's own (deploy/mosquitto.conf on a free port), stopped afterwards."""
    if mosquitto_binary() is None:
        missing("mosquitto is not installed (Debian package mosquitto)")
    instance = Mosquitto(tmp_path / "broker")
    instance.start()
    yield instance
    instance.stop()
