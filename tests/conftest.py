"""Shared fixtures: the bundled frameworks, unit kinds and the CLI (rubric tests); the two
storage backends (a SQLite file, a database on a real PostgreSQL) that the storage tests run
on alike."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) from anywhere
    sys.path.insert(0, str(ROOT))

from rubric.loader import kind, load_framework  # noqa: E402
from rubric.model import Framework, Kind  # noqa: E402
from tests import pgserver  # noqa: E402

TT22 = "tt22-2020"
TT24 = "tt24-2023-cap-huyen"
TT24_TINH = "tt24-2023-cap-tinh"


@pytest.fixture(scope="session")
def tt22() -> Framework:
    return load_framework(TT22)


@pytest.fixture(scope="session")
def tt24() -> Framework:
    return load_framework(TT24)


@pytest.fixture(scope="session")
def tt24_tinh() -> Framework:
    return load_framework(TT24_TINH)


@pytest.fixture(scope="session")
def co_quan() -> Kind:
    return kind("co-quan")


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


def run_rubric(*args: str) -> CliRun:
    """`python -m rubric ARGS` in the repository, as a person or a script would run it."""
    completed = subprocess.run(
        [sys.executable, "-m", "rubric", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    return CliRun(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def rubric_cli() -> Callable[..., CliRun]:
    return run_rubric


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.Server]:
    """The PostgreSQL the tests use (see tests.pgserver); skipped when there is none."""
    server = pgserver.start()
    if server is None:
        pytest.skip(
            f"no PostgreSQL: set {pgserver.ENV} or install PostgreSQL (initdb) to run these"
        )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pg_url(pg_server: pgserver.Server) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return await pgserver.fresh_database(pg_server)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A place for a store, on each backend in turn: a SQLite file path, or the URL of a
    fresh PostgreSQL database (the same storage tests run on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "nested" / "folder" / "hoctap.sqlite3")
    url: str = request.getfixturevalue("pg_url")
    return url
