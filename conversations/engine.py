"""The dialogue engine: one event in, replies out, everything in between in one transaction.

Channel-agnostic: adapters in bot/ build `Event`s and render `Reply`s. The engine de-duplicates
redelivered updates, loads the chat's stored state, lets the current screen handle the event,
saves the state and commits; only then are the replies returned, so whatever a reply confirms is
already on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from functools import partial

from conversations import tokens
from conversations.approval import approve_command, return_command, review_command
from conversations.cleaning import clean_event, word_form
from conversations.context import Ctx
from conversations.events import Event, EventKind, Reply
from conversations.flow import SCREENS, current
from conversations.invites import (
    create_supervising_unit,
    invite_command,
    join_with_code,
    revoke_command,
)
from conversations.modes import Mode
from conversations.opening import open_assessment
from conversations.overview import overview_command
from conversations.questions import prefixed
from conversations.reminders import mute_command
from conversations.rename import rename_command
from conversations.report_again import report_command
from conversations.screen import Locked, NoAssessment, show
from conversations.settings import Settings
from conversations.working import default_year, in_progress, unfinished, working_year
from rubric.answers import fold
from storage.base import ATTEMPTS, ChatState, Conflict, Person, Repository, Transaction, retrying
from templates.formatting import VIETNAM
from templates.text import t

log = logging.getLogger(__name__)


def vietnam_today() -> date:
    """Today's date where the units are (the server's clock may be on UTC)."""
    return datetime.now(VIETNAM).date()


class Engine:
    def __init__(
        self,
        repository: Repository,
        settings: Settings | None = None,
        today: Callable[[], date] = vietnam_today,
    ) -> None:
        self.repository = repository
        self.settings = settings or Settings()
        self.today = today
        self.on_queued: Callable[[], None] = lambda: None  # set by the service: wake workers

    async def handle(self, event: Event) -> list[Reply]:
        """Handle one event; the replies are returned only after its changes are committed.

        A turn only reads and writes rows (heavy work is queued as a job), so when the store
        reports a conflict with another transaction the whole turn simply runs again.
        """
        event = clean_event(event)  # every person's text, cleaned once, before any of it is read
        try:
            replies, queued = await retrying(self.repository, partial(self._turn, event))
        except Conflict:
            log.warning("a %s turn gave up after %d conflicts", event.kind, ATTEMPTS)
            return [Reply(t("error.internal"))]
        except Exception:
            log.exception("engine failed on a %s event of %s", event.kind, event.channel)
            return [Reply(t("error.internal"))]
        if queued:
            self.on_queued()  # committed: the outbox and job workers may start on it now
        return replies

    async def _turn(self, event: Event, tx: Transaction) -> tuple[list[Reply], bool]:
        """One run of the turn in `tx`: its replies, and whether it queued work for others."""
        sender = event.sender
        person = await tx.start_turn(
            event.channel, event.update_id, sender.id, sender.name, chat_id=event.chat_id
        )
        if person is None:
            return [], False  # a redelivered update changes nothing
        chat = await _chat(tx, event, person)
        ctx = Ctx(tx, event, person, chat, self.today(), self.settings, SCREENS)
        replies = await dispatch(ctx)
        await tx.save_chat(ctx.chat)
        return replies, tx.queued


async def _chat(tx: Transaction, event: Event, person: Person) -> ChatState:
    """The chat's stored state, with its unit checked against the person's memberships."""
    units = [m.unit_id for m in await tx.memberships(person.id)]
    chat = await tx.get_chat(event.channel, event.chat_id)
    if chat is None:
        chat = ChatState(event.channel, event.chat_id, person.id)
        chat.mode = (Mode.MENU if units else Mode.START).value
    chat.person_id = person.id
    if (chat.unit_id is not None and chat.unit_id not in units) or (
        chat.unit_id is None and units
    ):  # left the unit (or was removed), or joined one from another chat
        chat.unit_id = units[0] if units else None
        chat.data = {}
        chat.mode = (Mode.MENU if units else Mode.START).value
    return chat


async def dispatch(ctx: Ctx) -> list[Reply]:
    try:
        return await _dispatch(ctx)
    except NoAssessment:
        return [await show(ctx, Mode.MENU)]
    except Locked:
        return [Reply(t("status.locked")), await show(ctx, Mode.STATUS)]


async def _dispatch(ctx: Ctx) -> list[Reply]:
    event = ctx.event
    if event.kind is EventKind.COMMAND:
        return await command(ctx, event.payload)
    if event.kind is EventKind.CHOICE and event.payload.startswith("!"):
        return await command_button(ctx, event.payload[1:])
    if event.kind is EventKind.CHOICE:
        parsed = tokens.split(event.payload)
        if parsed is None or parsed[0] != ctx.chat.nonce:
            stale = Reply(t("error.stale_button"), notice=t("error.stale_notice"), stale=True)
            return [stale, await current(ctx).prompt(ctx)]
        return await current(ctx).on_choice(ctx, parsed[1])
    if event.kind is EventKind.FILE and event.file is not None:
        return await current(ctx).on_file(ctx, event.file)
    return await text(ctx, event.payload)


async def command_button(ctx: Ctx, line: str) -> list[Reply]:
    """A command button (in messages sent outside the conversation): as if the command were
    typed, in the unit the message was about ("@12 tieptuc") when the person belongs to it."""
    if line.startswith("@"):
        selector, _, line = line.partition(" ")
        unit_id = int(selector[1:]) if selector[1:].isdecimal() else None
        if await ctx.role_in(unit_id) is None:
            return [Reply(t("error.not_member")), await current(ctx).prompt(ctx)]
        if ctx.chat.unit_id != unit_id:
            ctx.chat.unit_id, ctx.chat.data, ctx.chat.mode = unit_id, {}, Mode.MENU.value
    return await command(ctx, line)


async def text(ctx: Ctx, typed: str) -> list[Reply]:
    """Typed text: a command, one of the current question's choices, or an answer."""
    if len(typed) > ctx.settings.max_text_chars:
        return [
            Reply(t("error.too_long", max=ctx.settings.max_text_chars)),
            await current(ctx).prompt(ctx),
        ]
    if not typed:  # the adapters' way to show the current question (after a sticker…)
        return [await current(ctx).prompt(ctx)]
    typed = typed.strip()
    if not word_form(typed):  # an empty line, or only a full stop: say what is expected
        return [prefixed(t("error.empty"), await current(ctx).prompt(ctx))]
    if typed.startswith("/"):
        return await command(ctx, typed[1:])
    if len(typed) <= WORD_CHARS:  # "Xong.", "ｘｏｎｇ", "1 " are the choice they name
        for word in dict.fromkeys((typed, word_form(typed))):  # as typed, then tidied
            value = ctx.shown_value(word)
            if value is not None:
                return await current(ctx).on_choice(ctx, value)
            name = GLOBAL_WORDS.get(fold(word))
            if name is not None:
                return await command(ctx, name)
    return await current(ctx).on_text(ctx, typed)


WORD_CHARS = 40  # longer text is never a choice or a command word


# The commands a channel may list in its menu (Telegram's setMyCommands), in the order shown;
# their descriptions are the templates' "command.<name>" texts.
COMMANDS = (
    "danhgia",
    "tieptuc",
    "xemlai",
    "tamdung",
    "duyet",
    "tonghop",
    "baocao",
    "thongtin",
    "quyetdinh",
    "doiten",
    "moi",
    "tatnhac",
    "huy",
    "trogiup",
)

GLOBAL_WORDS = {
    "tro giup": "trogiup",
    "help": "trogiup",
    "huy": "huy",
    "menu": "menu",
    "xem lai": "xemlai",
    "tiep tuc": "tieptuc",
    "tam dung": "tamdung",
    "lenh": "lenh",
}

# Every command known to the engine: one not listed is "unknown", whoever types it.
KNOWN_COMMANDS = frozenset(
    {*COMMANDS, "start", "menu", "lenh", "taocaptren", "huymoi", "pheduyet", "tralai", "batnhac"}
)


async def command(ctx: Ctx, line: str) -> list[Reply]:
    """A command ("danhgia 2024"), typed with a slash or sent by the channel as a command."""
    name, _, argument = line.strip().partition(" ")
    name = fold(name.split("@", 1)[0])
    argument = argument.strip()
    if name == "start":
        return await _start(ctx, argument)
    if name == "trogiup":
        return [Reply(t("help")), await current(ctx).prompt(ctx)]
    if name == "taocaptren":  # administrators need no unit of their own
        return await create_supervising_unit(ctx, argument)
    if name not in KNOWN_COMMANDS:
        return [Reply(t("error.unknown_command", name=name[:30])), await current(ctx).prompt(ctx)]
    if name == "lenh":  # the command words, listed under the question on request
        ctx.chat.data["_hint"] = True
        return [await current(ctx).prompt(ctx)]
    unit = await ctx.unit()
    if unit is None:
        return [Reply(t("error.no_unit")), await show(ctx, Mode.START)]
    if name in ("huy", "menu"):
        return [await show(ctx, Mode.MENU)]
    if name == "tamdung":
        return [Reply(t("pause.done")), await show(ctx, Mode.MENU)]
    if name == "danhgia":
        return await _assess(ctx, argument)
    if name == "tieptuc":
        return await _continue(ctx)
    if name == "xemlai":
        if await ctx.assessment() is None:
            return await _continue(ctx)
        return [await show(ctx, Mode.REVIEW)]
    if name == "thongtin":
        return [await show(ctx, Mode.DETAILS, field=0)]
    if name == "quyetdinh":
        return [await show(ctx, Mode.LEVEL1_DECISION, then="menu")]
    handler = UNIT_COMMANDS.get(name)
    if handler is not None:
        return await handler(ctx, argument)
    return [Reply(t("error.unknown_command", name=name[:30])), await current(ctx).prompt(ctx)]


async def _mute(ctx: Ctx, _: str) -> list[Reply]:
    return await mute_command(ctx, muted=True)


async def _unmute(ctx: Ctx, _: str) -> list[Reply]:
    return await mute_command(ctx, muted=False)


UNIT_COMMANDS: dict[str, Callable[[Ctx, str], Awaitable[list[Reply]]]] = {
    "moi": invite_command,
    "huymoi": revoke_command,
    "duyet": review_command,
    "pheduyet": approve_command,
    "tralai": return_command,
    "tonghop": overview_command,
    "tatnhac": _mute,
    "baocao": report_command,
    "batnhac": _unmute,
    "doiten": rename_command,
}


# The registration's steps: /start (the console starts with it, Telegram's Start button sends it)
# goes on with the step a person left, rather than beginning again; "hủy" begins again.
_REGISTERING = frozenset(m.value for m in (Mode.REG_NAME, Mode.REG_SAME_NAME, Mode.REG_KIND,
                                           Mode.REG_LEVEL))  # fmt: skip


async def _start(ctx: Ctx, argument: str) -> list[Reply]:
    if argument:
        joined = await join_with_code(ctx, argument)
        if joined is not None:
            return joined
        return [Reply(t("join.invalid")), await current(ctx).prompt(ctx)]
    if ctx.chat.unit_id is None:
        if ctx.chat.mode in _REGISTERING:  # a registration left midway (a restart, a closed app)
            return [Reply(t("reg.resumed")), await current(ctx).prompt(ctx)]
        return [await show(ctx, Mode.START)]
    if await in_progress(ctx):
        return [await show(ctx, Mode.RESUME)]  # back where the unit stopped
    return [await show(ctx, Mode.MENU)]


async def _assess(ctx: Ctx, argument: str) -> list[Reply]:
    year = default_year(ctx.today)
    if argument:
        if not argument.isdecimal() or not 2020 <= int(argument) <= ctx.today.year + 1:
            return [
                Reply(t("error.bad_year", typed=argument[:20], last=ctx.today.year)),
                await current(ctx).prompt(ctx),
            ]
        year = int(argument)
    return await open_assessment(ctx, year)


async def _continue(ctx: Ctx) -> list[Reply]:
    """Resume the unit's most recently touched unfinished assessment, of any year (the resume
    screen offers the others); with none, the year being assessed now."""
    open_ = await unfinished(ctx)
    return await open_assessment(ctx, open_[0].year if open_ else await working_year(ctx))
