"""The bot object of the Telegram channel: PTB's `ExtBot`, with the three calls of every turn
made without decoding what Telegram sends back.

Each turn sends the next question, and takes the buttons off the previous one or edits the
pressed one. PTB turns every result into a `Message` (~60 µs each, more with the keyboard
Telegram echoes back): the largest single cost of a turn in `bench/turns.py`, for objects the
conversation never reads; it needs the new message's id, nothing else. These methods go through
`_post`, the path of every PTB method (defaults, the rate limiter, the request object with its
retries, errors raised as `TelegramError`s): only the decoding of the result is left out.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import ExtBot


class ConversationBot(ExtBot[int]):
    """`ExtBot` plus `send_text`, `edit_text` and `remove_keyboard`."""

    async def send_text(
        self, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> int:
        """Send a text message (with its inline keyboard); the id of the message sent."""
        result = await self._post(
            "sendMessage", {"chat_id": chat_id, "text": text, "reply_markup": keyboard}
        )
        return _message_id(result)

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Replace the text (and keyboard) of one of the bot's messages."""
        await self._post(
            "editMessageText",
            {"chat_id": chat_id, "message_id": message_id, "text": text, "reply_markup": keyboard},
        )

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        """Take the inline keyboard off one of the bot's messages."""
        await self._post("editMessageReplyMarkup", {"chat_id": chat_id, "message_id": message_id})


def _message_id(result: Any) -> int:
    """The id of the message in a sendMessage result (a Message object in JSON)."""
    try:
        return int(result["message_id"])
    except (TypeError, KeyError, ValueError) as exc:
        raise TelegramError(f"sendMessage answered without a message id: {result!r:.200}") from exc
