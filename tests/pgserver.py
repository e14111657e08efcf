"""A real, temporary PostgreSQL for the tests: the one `.ci/run` started (DVHT_TEST_PG_URL), or
one started here in a temporary folder when `initdb` is on the machine (so a plain
`python -m pytest` runs the PostgreSQL tests too), else none (those tests are skipped).

PostgreSQL refuses to run as root; as root the cluster is run as the `postgres` user
(Debian's package creates it) through `runuser`. Each test gets a database of its own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ENV = "DVHT_TEST_PG_URL"
_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/bin")


def _tool(name: str) -> str | None:
    for folder in _BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running PostgreSQL: `url` of its maintenance database; `stop()` ends it."""

    url: str
    folder: Path | None = None
    as_user: list[str] | None = None

    def database_url(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + name

    def stop(self) -> None:
        if self.folder is None:
            return
        pg_ctl = _tool("pg_ctl")
        if pg_ctl:
            subprocess.run(
                [*(self.as_user or []), pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate",
                 "stop"],
                capture_output=True,
                check=False,
                timeout=60,
            )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


def start(*, durable: bool = False) -> Server | None:
    """The server of DVHT_TEST_PG_URL, or a new temporary one; None when neither is possible.
    `durable`: fsync and synchronous commits on, as a real deployment (benchmarks); the tests
    run without (nothing of theirs must outlive the machine)."""
    if not durable and os.environ.get(ENV):
        return Server(os.environ[ENV])
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    if initdb is None or pg_ctl is None:
        return None
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root: as Debian's postgres user
        runuser = shutil.which("runuser")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return None
        if runuser is None:
            return None
        as_user = [runuser, "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="dvht-pg-"))
    os.chmod(folder, 0o755)
    data = folder / "data"
    if as_user:
        shutil.chown(folder, "postgres")
    port = _free_port()
    user = "postgres" if as_user else os.environ.get("USER", "postgres")
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
         "--locale=C.UTF-8"],
        capture_output=True,
        check=True,
        timeout=120,
    )  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w",
         "start"],
        capture_output=True,
        check=True,
        timeout=120,
    )  # fmt: skip
    return Server(f"postgresql://{user}@127.0.0.1:{port}/postgres", folder, as_user)


async def fresh_database(server: Server) -> str:
    """A new empty database on `server` (a unique name); its URL."""
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:16]}"
    for attempt in range(50):  # another test may be creating one from the same template
        conn = await asyncpg.connect(server.url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            break
        except asyncpg.ObjectInUseError:
            time.sleep(0.05 * (attempt + 1))
        finally:
            await conn.close()
    return server.database_url(name)
