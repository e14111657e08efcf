"""`python -m bot [console|…]`: start the assistant.

Without a subcommand it starts Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the console.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from bot.config import Config
from bot.console import run_console


def build_parser(config: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý “Đơn vị học tập”.")
    commands = parser.add_subparsers(dest="command")
    console = commands.add_parser("console", help="trò chuyện trong cửa sổ dòng lệnh")
    console.add_argument("--db", default=str(config.db_path), help="tệp cơ sở dữ liệu SQLite")
    console.add_argument("--user", default=None, help="tên người dùng (mặc định: tài khoản máy)")
    commands.add_parser("report", help="soạn báo cáo .docx từ một tệp câu trả lời (xem --help)")
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:
        from bot import report_cli

        return report_cli.main(argv[1:])
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = Config.from_env()
    args = build_parser(config).parse_args(argv)
    command = args.command or "console"
    if command == "console":
        from pathlib import Path

        user = args.user if getattr(args, "user", None) else getpass.getuser()
        db = Path(getattr(args, "db", config.db_path))
        run_console(db, user, config.data_dir)
        return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
