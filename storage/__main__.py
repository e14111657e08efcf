"""`python -m storage copy SRC DST [--replace]`: move a whole store between SQLite and
PostgreSQL (either way), checked row for row (see `storage.copy`). Exit status 0 when every
table matches, 1 when the copy was refused or undone, 2 for a wrong command line."""

from __future__ import annotations

import argparse
import asyncio
import sys

from storage.base import StorageError
from storage.copy import MissingSource, NotEmpty, copy
from storage.postgres import redacted
from templates.text import t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage", description=t("copy.usage"))
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("copy", help=t("copy.usage"))
    command.add_argument("source")
    command.add_argument("destination")
    command.add_argument("--replace", action="store_true")
    args = parser.parse_args(argv)
    source, destination = redacted(args.source), redacted(args.destination)
    try:
        checks = asyncio.run(copy(args.source, args.destination, replace=args.replace))
    except MissingSource:
        detail = t("copy.no_source", source=source)
        print(t("copy.failed", detail=detail, destination=destination), file=sys.stderr)
        return 1
    except NotEmpty as held:
        print(t("copy.not_empty", destination=destination, tables=str(held)), file=sys.stderr)
        return 1
    except (StorageError, OSError, ValueError) as exc:
        detail = str(exc).replace(args.source, source).replace(args.destination, destination)
        print(t("copy.failed", detail=detail[:300], destination=destination), file=sys.stderr)
        return 1
    for check in checks:
        print(
            t(
                "copy.table",
                table=check.table,
                rows=check.source_rows,
                copied=check.copied_rows,
                same=check.same,
            )
        )
    wrong = [check.table for check in checks if not check.same]
    if wrong:
        print(t("copy.mismatch", tables=", ".join(wrong), destination=destination), file=sys.stderr)
        return 1
    rows = sum(check.source_rows for check in checks)
    print(t("copy.done", rows=rows, source=source, destination=destination))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
