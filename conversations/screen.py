"""Screens: one per dialogue state. Each can show its question and take a choice, text or file.

The chat's stored `mode` names its screen (the table is `conversations.flow`); `show` moves a
chat to a screen and returns that screen's question, so flows read as "save, then show the next
screen". A screen names where it goes by `Mode` only, never by importing the other screen.
"""

from __future__ import annotations

from functools import cache

from conversations.context import Ctx, Option
from conversations.events import ChoiceKind, IncomingFile, Reply
from conversations.modes import Mode
from templates.text import t


class Locked(Exception):
    """A change was asked of an assessment that is submitted or approved (no longer editable).

    Raised by the one check every writing handler calls; the engine answers it with the
    assessment's read-only status, and nothing is changed.
    """


class NoAssessment(Exception):
    """A screen that needs the chat's assessment found none (e.g. the person left the unit).

    Raised instead of checking in every handler; the engine answers it with the menu.
    """


class Screen:
    """Default behaviour: anything unexpected gets a clear message and the question again."""

    async def prompt(self, ctx: Ctx) -> Reply:
        raise NotImplementedError

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "a:cancel":  # the menu shows the start screen to someone without a unit
            return [await show(ctx, Mode.MENU)]
        return [Reply(t("error.stale_button")), await self.prompt(ctx)]

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        return [Reply(t("error.not_understood")), await self.prompt(ctx)]

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> list[Reply]:
        return [Reply(t("error.file_not_expected")), await self.prompt(ctx)]


async def show(ctx: Ctx, mode: Mode, **data: object) -> Reply:
    """Move the chat to `mode` and return that screen's question."""
    ctx.goto(mode, **data)
    return await ctx.flow[mode].prompt(ctx)


@cache
def action(name: str) -> Option:
    """A navigation choice ("a:back", "a:cancel" …) with the word a text channel types."""
    return Option(t(f"action.{name}"), f"a:{name}", ChoiceKind.ACTION, t(f"word.{name}"))


CANCEL = action("cancel")


async def again(ctx: Ctx) -> Reply:
    """The chat's current question once more, after a command answered beside the flow."""
    return await ctx.flow[Mode.stored(ctx.chat.mode)].prompt(ctx)
