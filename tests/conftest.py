"""Shared fixtures for the rubric tests: the bundled frameworks, unit kinds and the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) from anywhere
    sys.path.insert(0, str(ROOT))

from rubric.loader import kind, load_framework  # noqa: E402
from rubric.model import Framework, Kind  # noqa: E402

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
