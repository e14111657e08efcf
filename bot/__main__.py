"""`python -m bot [console|telegram|report]`: start the assistant.

Without a subcommand it starts the chat channels when a bot token is set (TELEGRAM_BOT_TOKEN),
otherwise the terminal console, which needs no token.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from pathlib import Path

from bot.config import Config
from bot.logsafe import setup_logging
from templates.text import t


def build_parser(config: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý “Đơn vị học tập”.")
    commands = parser.add_subparsers(dest="command")
    console = commands.add_parser("console", help="trò chuyện trong cửa sổ dòng lệnh")
    console.add_argument("--db", default=str(config.db_path), help="tệp cơ sở dữ liệu SQLite")
    console.add_argument("--user", default=None, help="tên người dùng (mặc định: tài khoản máy)")
    commands.add_parser("telegram", help="chạy trợ lý trên Telegram (cần TELEGRAM_BOT_TOKEN)")
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
    config = Config.from_env()
    args = build_parser(config).parse_args(argv)
    command = args.command or ("telegram" if config.telegram_token else "console")
    if command == "telegram":
        return _run_channels(config)
    setup_logging(config.secrets(), logging.WARNING)
    from bot.console import run_console

    user = args.user if getattr(args, "user", None) else getpass.getuser()
    run_console(Path(getattr(args, "db", config.db_path)), user, config.data_dir)
    return 0


def _run_channels(config: Config) -> int:
    """Run the chat channels until Ctrl-C or SIGTERM; a missing token is one clear line."""
    from bot.service import ConfigError, serve

    setup_logging(config.secrets(), logging.INFO)
    if not config.telegram_token:
        print(t("service.no_token"), file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(config))
    except ConfigError as exc:
        print(t(f"service.{exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
