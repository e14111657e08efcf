"""The authorization matrix: every command and button, tried by people outside the unit.

A victim unit (A) sits under a supervising unit (S): its staff submitted the year's report with
evidence, its leader has the report open to approve, its staff member has the invite screen
open. Three outsiders try every command (with and without arguments that point at A's report,
invites and S) and every button A's people hold (their tokens, the leader's "Duyệt" / "Trả lại"
command button): a stranger without a unit, the staff of another unit B under the same S, and
B's leader, who has a report of B waiting and so is a leader "somewhere".

Each case starts from a copy of one database built once, so the matrix runs in seconds. After the
attempt, A's and S's rows (unit, memberships, invites, assessment, answers, attachments,
narratives, outbox, chats, events, reminders) are exactly as before, and the outsider's replies
carry nothing of A: not its name, its evidence, its invite codes, nor any file.

Invite codes are bearer credentials by design (whoever has one may join), so "/start <A's code>"
is not an attack here; a revoked, wrong or expired code is covered in test_engine/test_leaders.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conversations.engine import COMMANDS, Engine
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import ChatUser
from tests.test_engine import CO_QUAN, SEED_002

TODAY = date(2024, 2, 1)
SUPERVISOR = "Phòng Giáo dục và Đào tạo huyện Kon Rẫy"
VICTIM = "Trường Tiểu học Đắk Ruồng"
OTHER = "Trường Mầm non Tân Lập"
MARK = "MC-A-"  # in each of A's evidence paragraphs
ACTORS = ("stranger", "staff_b", "leader_b")
USER_OF = {"stranger": "x", "staff_b": "hoa", "leader_b": "nam"}


def settings_in(folder: Path) -> Settings:
    return Settings(
        reports_dir=folder / "reports",
        admins=frozenset({"test:admin"}),
        invite_links={"telegram": "https://t.me/dvht_bot?start={code}"},
    )


def code_in(text: str) -> str:
    match = re.search(r": ([A-Z2-9]{8}) \(dùng được", text)
    assert match, text
    return match.group(1)


@dataclass
class World:
    """The database file and what the matrix needs to aim at."""

    db: Path
    ids: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "who: label" -> token


async def register_under(user: ChatUser, code: str, name: str) -> None:
    await user.command(f"start {code}")
    await user.say(name)
    await user.press(CO_QUAN)
    await user.press("Cấp xã")
    await user.press("Để sau")


async def answer_and_submit(user: ChatUser, evidence: str | None) -> None:
    await user.command("danhgia")
    for _ in SEED_002:
        text = user.question.text
        code = next(c for c in SEED_002 if f"\n{c}. " in text or f"Nội dung {c}:" in text)
        if evidence is not None:  # the evidence in the same message, after the answer
            await user.say(f"{SEED_002[code]} - {evidence}{code}: Kế hoạch số {code}/KH")
        else:
            await user.say(str(SEED_002[code]))
    assert "đã nộp kết quả" in await user.press("Nộp kết quả")


async def build(folder: Path) -> World:
    world = World(folder / "world.sqlite3")
    repository = await SqliteRepository.open(world.db)
    engine = Engine(repository, settings_in(folder), today=lambda: TODAY)
    people = {uid: ChatUser(engine, uid, name) for uid, name in (
        ("admin", "Quản trị"), ("sup", "Chị Sáu"), ("lan", "Cô Lan"), ("minh", "Thầy Minh"),
        ("hoa", "Cô Hoa"), ("nam", "Thầy Nam"), ("x", "Người lạ"))}  # fmt: skip
    admin, sup, lan, minh, hoa, nam, x = people.values()
    await sup.command(f"start {code_in(await admin.command(f'taocaptren {SUPERVISOR}'))}")
    world.codes["s_unit"] = code_in(await sup.command("moi donvi"))
    world.codes["s_staff"] = code_in(await sup.command("moi captren"))
    await register_under(lan, code_in(await sup.command("moi donvi")), VICTIM)  # one code each
    await register_under(hoa, world.codes["s_unit"], OTHER)
    world.codes["a_leader"] = code_in(await lan.command("moi lanhdao"))
    world.codes["a_staff"] = code_in(await lan.command("moi canbo"))
    await minh.command(f"start {world.codes['a_leader']}")
    await nam.command(f"start {code_in(await hoa.command('moi lanhdao'))}")
    await answer_and_submit(lan, MARK)
    await answer_and_submit(hoa, None)
    await x.command("start")
    await nam.command("menu")  # B's leader has B's report waiting, but is not reviewing it
    # The buttons A's people hold: the leader's review button and approval screen, the staff
    # member's invite screen, the supervisor's menu.
    for label, token in review_buttons(world.db, "minh"):  # on the summary message
        world.tokens[f"minh: thư {label}"] = token
    await minh.command("duyet")
    await lan.command("moi")
    for who in (minh, lan, sup):
        for choice in who.question.choices:
            world.tokens[f"{who.user_id}: {choice.label}"] = choice.token
    await repository.close()
    with closing(sqlite3.connect(world.db)) as conn:
        for key, name in (("s", SUPERVISOR), ("a", VICTIM), ("b", OTHER)):
            [(unit_id,)] = conn.execute("SELECT id FROM units WHERE name = ?", (name,))
            world.ids[key] = unit_id
            for (assessment_id,) in conn.execute(
                "SELECT id FROM assessments WHERE unit_id = ?", (unit_id,)
            ):
                world.ids[f"{key}_assessment"] = assessment_id
    return world


def review_buttons(db: Path, chat_id: str) -> list[tuple[str, str]]:
    """The buttons (label, token) of the summary message the leader received."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute(
            "SELECT payload FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,)
        ).fetchall()
    for (payload,) in found:
        for reply in json.loads(payload)["replies"]:
            if reply["choices"]:
                return [(str(label), str(token)) for label, token, _, _ in reply["choices"]]
    raise AssertionError(f"no button for {chat_id}")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return asyncio.run(build(tmp_path_factory.mktemp("authorization")))


# --- what is A's and S's ------------------------------------------------------------------


def snapshot(db: Path, world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that belongs to A or S, or to their people."""
    a, s = world.ids["a"], world.ids["s"]
    with closing(sqlite3.connect(db)) as conn:
        in_a_or_s = "SELECT person_id FROM memberships WHERE unit_id IN (?, ?)"
        people = ", ".join(str(p) for (p,) in conn.execute(in_a_or_s, (a, s)))
        assessments = ", ".join(
            str(i) for (i,) in conn.execute("SELECT id FROM assessments WHERE unit_id = ?", (a,))
        )
        queries = {
            "units": f"SELECT * FROM units WHERE id IN ({a}, {s})",
            "under S": f"SELECT id FROM units WHERE supervisor_id = {s}",
            "supervising units": "SELECT id FROM units WHERE supervises = 1",
            "memberships": f"SELECT * FROM memberships WHERE unit_id IN ({a}, {s})",
            "invites": f"SELECT * FROM invites WHERE unit_id IN ({a}, {s})",
            "assessments": f"SELECT * FROM assessments WHERE unit_id = {a}",
            "answers": f"SELECT * FROM answers WHERE assessment_id IN ({assessments})",
            "attachments": f"SELECT * FROM attachments WHERE assessment_id IN ({assessments})",
            "narratives": f"SELECT * FROM narratives WHERE assessment_id IN ({assessments})",
            "outbox": f"SELECT * FROM outbox WHERE person_id IN ({people})",
            "chats": f"SELECT * FROM chats WHERE person_id IN ({people})",
            "people": f"SELECT * FROM people WHERE id IN ({people})",
            "events": f"SELECT * FROM events WHERE unit_id IN ({a}, {s})"
            f" OR assessment_id IN ({assessments})",
            "reminders": f"SELECT * FROM reminders WHERE unit_id IN ({a}, {s})",
        }
        return {name: [tuple(row) for row in conn.execute(sql)] for name, sql in queries.items()}


# --- the matrix ---------------------------------------------------------------------------

# Commands, as typed; "{…}" is filled from the world (A's assessment id, invite codes…).
TYPED = [
    *COMMANDS,
    *("start", "menu", "huymoi", "taocaptren"),
    "danhgia 2023", "danhgia 2024", "tieptuc", "xemlai", "duyet {a_assessment}",
    "duyet {b_assessment}", "duyet {s}", "tonghop 2023", "tonghop 2024", "huymoi {a_leader}",
    "huymoi {a_staff}", "huymoi {s_unit}", "huymoi {s_staff}", "moi lanhdao", "moi canbo",
    "moi captren", "moi donvi", "taocaptren Phòng GD&ĐT huyện Đắk Tô",
]  # fmt: skip
# Buttons A's people hold ("who: label prefix"), and command buttons aimed at A.
PRESSED = [
    "minh: thư ✅ Duyệt", "minh: thư ↩ Trả lại", "minh: ✅ Duyệt", "minh: ↩ Trả lại",
    "minh: Để sau", "lan: Cán bộ", "lan: ✖ Hủy", "sup: Tổng hợp", "sup: Lấy mã mời",
    "!duyet {a_assessment}", "!tieptuc", "!huymoi {a_leader}", "!tonghop 2023", "!moi donvi",
]  # fmt: skip


def fill(template: str, world: World) -> str:
    values = {**{k: str(v) for k, v in world.ids.items()}, **world.codes}
    return template.format(**values)


def token_for(pressed: str, world: World) -> str:
    if pressed.startswith("!"):
        return fill(pressed, world)
    matches = [token for name, token in world.tokens.items() if name.startswith(pressed)]
    assert matches, f"{pressed!r} not among {sorted(world.tokens)}"
    return matches[0]


CASES = [(actor, "command", line) for actor in ACTORS for line in TYPED] + [
    (actor, "press", pressed) for actor in ACTORS for pressed in PRESSED
]


@pytest.mark.parametrize(("actor", "how", "what"), CASES, ids=[f"{a}-{h}-{w}" for a, h, w in CASES])
async def test_outsiders_are_refused_and_change_nothing_of_the_unit(
    world: World, tmp_path: Path, actor: str, how: str, what: str
) -> None:
    db = tmp_path / "db.sqlite3"
    shutil.copyfile(world.db, db)
    before = snapshot(db, world)
    repository = await SqliteRepository.open(db)
    engine = Engine(repository, settings_in(tmp_path), today=lambda: TODAY)
    user = ChatUser(engine, USER_OF[actor], actor)
    try:
        seen = []
        if how == "command":
            await user.command(fill(what, world))
        else:
            await user.press_token(token_for(what, world))
        seen += user.replies
        # Follow through: if the attempt led to an approval screen that is not B's own
        # (B's leader may approve B, which rightly tells S), press its approve button.
        approvable = any(c.label.startswith("✅ Duyệt") for c in user.question.choices)
        if approvable and OTHER not in user.question.text:
            await user.press("✅ Duyệt")
            seen += user.replies
    finally:
        await repository.close()
    assert seen, "every attempt gets an answer"
    text = "\n".join(reply.text for reply in seen)
    assert VICTIM not in text
    assert MARK not in text
    for code in world.codes.values():
        assert code not in text or code in fill(what, world)  # echoing what was typed is fine
    assert not [f.name for reply in seen for f in reply.files]
    after = snapshot(db, world)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, {name: (before[name], after[name]) for name in changed}


def test_the_matrix_aims_at_something_real(world: World) -> None:
    """The world holds what the matrix attacks: A's report waiting, invites, evidence."""
    assert set(world.ids) >= {"a", "b", "s", "a_assessment", "b_assessment"}
    assert {token_for(p, world) for p in PRESSED if not p.startswith("!")}
    with closing(sqlite3.connect(world.db)) as conn:
        [(status,)] = conn.execute(
            "SELECT status FROM assessments WHERE unit_id = ?", (world.ids["a"],)
        ).fetchall()
        evidence = conn.execute("SELECT COUNT(*) FROM answers WHERE evidence LIKE 'MC-A-%'")
        roles = dict(conn.execute("SELECT p.channel_user_id, m.role FROM memberships AS m"
                                  " JOIN people AS p ON p.id = m.person_id"))  # fmt: skip
        assert evidence.fetchone() == (len(SEED_002),)
    assert status == "submitted"
    assert roles == {"sup": "supervisor", "lan": "staff", "minh": "leader", "hoa": "staff",
                     "nam": "leader"}  # fmt: skip
