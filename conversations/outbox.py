"""Messages for someone other than the person whose event caused them: the outbox.

They are written in the same transaction as the change, and sent by the channels after the
commit; a button in them runs a command, checked exactly like typing it.
"""

from __future__ import annotations

from collections.abc import Sequence

from conversations.context import Ctx
from conversations.events import Choice, ChoiceKind, Reply, replies_to_json
from storage.base import OutboxMessage, Person, Transaction
from templates.text import t


def command_choice(label: str, command: str) -> Choice:
    """A button that runs a command, for messages sent outside the conversation (the outbox).

    It is a shortcut for typing the command, checked exactly like typing it, so it never goes
    stale and carries no right of its own.
    """
    return Choice(label, f"!{command}", ChoiceKind.ACTION, f"/{command}")


async def notify(ctx: Ctx, person: Person, replies: Sequence[Reply]) -> None:
    await enqueue_for(ctx.tx, person, replies)


async def enqueue_for(tx: Transaction, person: Person, replies: Sequence[Reply]) -> None:
    """Queue `replies` for `person`, one message per row so a retry never repeats another.

    A private chat's id is the person's id on Telegram and on Zalo, so that is where it goes.
    """
    for reply in replies:
        parts = [Reply(reply.text, reply.choices)] if reply.text else []
        parts += [Reply("", files=(file,)) for file in reply.files]
        for part in parts:
            payload = replies_to_json([part])
            await tx.enqueue(person.id, person.channel, person.channel_user_id, payload)


async def undeliverable(tx: Transaction, message: OutboxMessage) -> None:
    """A message could not be delivered even after every retry (the person blocked the bot, or
    left it): the staff of the person's units are told once whom it did not reach, so that
    they can tell that person another way. A notice about a notice is never sent."""
    if message.person_id is None or message.payload.get(NOTICE):
        return
    person = await tx.get_person(message.person_id)
    if person is None:
        return
    for membership in await tx.memberships(person.id):
        unit = await tx.get_unit(membership.unit_id)
        if unit is None:
            continue
        text = t("outbox.undeliverable", name=person.display_name, unit=unit.name)
        for colleague, role in await tx.members(unit.id):
            if colleague.id != person.id and role in ("staff", "leader"):
                payload = {**replies_to_json([Reply(text)]), NOTICE: True}
                await tx.enqueue(
                    colleague.id, colleague.channel, colleague.channel_user_id, payload
                )


NOTICE = "undeliverable_notice"  # marks the notice itself in its outbox payload
