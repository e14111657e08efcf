"""`python -m bot [console|telegram|zalo|report]`: start the assistant.

Without a subcommand it starts the chat channels whose bot token is set (TELEGRAM_BOT_TOKEN,
ZALO_BOT_TOKEN: both run together over one database), otherwise the terminal console, which
needs no token.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys

from bot.config import Config
from bot.logsafe import RedactingFilter, setup_logging
from templates.text import t

NO_TOKEN = {"telegram": "service.no_token", "zalo": "service.no_zalo_token"}  # message keys


def build_parser(config: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý “Đơn vị học tập”.")
    commands = parser.add_subparsers(dest="command")
    console = commands.add_parser("console", help="trò chuyện trong cửa sổ dòng lệnh")
    console.add_argument(
        "--db", default=config.store, help="tệp cơ sở dữ liệu SQLite, hoặc postgresql://…"
    )
    console.add_argument("--user", default=None, help="tên người dùng (mặc định: tài khoản máy)")
    commands.add_parser("telegram", help="chạy trợ lý trên Telegram (cần TELEGRAM_BOT_TOKEN)")
    commands.add_parser("zalo", help="chạy trợ lý trên Zalo (cần ZALO_BOT_TOKEN)")
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
    channels = config.telegram_token or config.zalo_token
    command = args.command or ("channels" if channels else "console")
    if command in ("telegram", "zalo", "channels"):
        return _run_channels(config, None if command == "channels" else command)
    setup_logging(config.secrets(), logging.WARNING)
    from bot.console import run_console

    user = args.user if getattr(args, "user", None) else getpass.getuser()
    return run_console(str(getattr(args, "db", config.store)), user, config.data_dir)


def _run_channels(config: Config, only: str | None) -> int:
    """Run the chat channels (all, or `only` one) until Ctrl-C or SIGTERM.

    A missing token is one clear line on stderr and exit status 2.
    """
    from bot.service import ConfigError, serve

    setup_logging(config.secrets(), logging.INFO)
    tokens = {"telegram": config.telegram_token, "zalo": config.zalo_token}
    if only is not None and not tokens[only]:
        print(t(NO_TOKEN[only]), file=sys.stderr)
        return 2
    from telegram.error import InvalidToken, TelegramError

    from bot.zalo_client import ZaloError

    redact = RedactingFilter(config.secrets()).redact
    try:
        asyncio.run(serve(config, channels=None if only is None else [only]))
    except ConfigError as exc:
        key, *detail = exc.args
        print(t(f"service.{key}", detail=detail[0] if detail else ""), file=sys.stderr)
        return 2
    except ZaloError as exc:  # a refused token, or Zalo unreachable at start
        print(t("service.zalo_failed", status=exc.status, detail=exc.description), file=sys.stderr)
        return 2
    except InvalidToken:  # PTB's message quotes the token: never print it
        print(t("service.bad_token"), file=sys.stderr)
        return 2
    except TelegramError as exc:  # Telegram unreachable at start (network, proxy, wrong URL)
        print(t("service.unreachable", detail=redact(str(exc))[:200]), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
