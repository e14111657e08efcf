"""Units, roles and leaders: invites, approval through the outbox, the supervising level.

The whole loop on a real SQLite file: an administrator creates a supervising unit, two units
place themselves under it, a leader returns then approves, the supervising level reads the
overview and its workbook, an outsider is refused everywhere, reminders and the outbox worker.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from bot.outbox import OutboxWorker
from conversations.engine import Engine
from conversations.events import Reply
from conversations.reminders import send_reminders
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import CHANNELS, ChatUser, run_jobs
from tests.test_engine import CO_QUAN, SEED_002, answer_all

TODAY = date(2024, 2, 1)  # the working year is 2023 (Thông tư 22/2020)
SUPERVISOR = "Phòng Giáo dục và Đào tạo huyện Kon Rẫy"


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[SqliteRepository]:
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    yield repository
    await repository.close()


@pytest.fixture
def engine(repo: SqliteRepository, tmp_path: Path) -> Engine:
    settings = Settings(
        reports_dir=tmp_path / "reports",
        admins=frozenset({"test:admin"}),
        invite_links={"telegram": "https://t.me/dvht_bot?start={code}"},
    )
    return Engine(repo, settings, today=lambda: TODAY)


def code_in(text: str) -> str:
    match = re.search(r": ([A-Z2-9]{8}) \(dùng được", text)
    assert match, text
    return match.group(1)


async def outbox(repo: SqliteRepository, user: ChatUser) -> list[Reply]:
    """What the outbox holds for `user` (unsent), as replies."""
    from conversations.events import replies_from_json

    await run_jobs(user.engine)  # the reports and workbooks the turns queued
    async with repo.transaction() as tx:
        due = await tx.due_messages(datetime.now(UTC) + timedelta(days=1), CHANNELS, limit=500)
        person = await tx.upsert_person(user.channel, user.user_id, user.name or user.user_id)
    return [r for m in due if m.person_id == person.id for r in replies_from_json(m.payload)]


async def register_under(user: ChatUser, code: str, name: str) -> None:
    await user.command(f"start {code}")
    assert "Tên đầy đủ của đơn vị" in user.question.text
    await user.say(name)
    await user.press(CO_QUAN)
    await user.press("Cấp xã")
    await user.press("Để sau")


@dataclass
class World:
    admin: ChatUser
    sup: ChatUser
    lan: ChatUser  # staff of unit A
    minh: ChatUser  # leader of unit A
    hoa: ChatUser  # staff of unit B
    codes: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def world(engine: Engine) -> World:
    w = World(*(ChatUser(engine, uid, name) for uid, name in (
        ("admin", "Quản trị"), ("sup", "Chị Sáu"), ("lan", "Cô Lan"), ("minh", "Thầy Minh"),
        ("hoa", "Cô Hoa"))))  # fmt: skip
    text = await w.admin.command(f"taocaptren {SUPERVISOR}")
    assert f"Đã tạo đơn vị cấp trên “{SUPERVISOR}”" in text
    assert "https://t.me/dvht_bot?start=" in text
    await w.sup.command(f"start {code_in(text)}")
    assert f"Bạn đã tham gia đơn vị “{SUPERVISOR}” với vai trò cán bộ cấp trên" in w.sup.text
    w.codes["unit"] = code_in(await w.sup.command("moi donvi"))
    await register_under(w.lan, w.codes["unit"], "Trường Tiểu học Đắk Ruồng")
    w.codes["unit"] = code_in(await w.sup.command("moi donvi"))  # one code, one unit
    await register_under(w.hoa, w.codes["unit"], "Trường Mầm non Tân Lập")
    w.codes["leader"] = code_in(await w.lan.command("moi lanhdao"))
    await w.minh.command(f"start {w.codes['leader']}")
    assert "lãnh đạo" in w.minh.text.lower()
    return w


async def submit_all(user: ChatUser, answers: dict[str, object]) -> str:
    await user.command("danhgia")
    await answer_all(user, answers)
    while "Dùng bản nháp này" in [c.label for c in user.question.choices]:
        await user.press("Dùng bản nháp này")
    return await user.press("Nộp kết quả")


async def status_of(repo: SqliteRepository, unit_id: int) -> str:
    async with repo.transaction() as tx:
        assessment = await tx.latest_assessment(unit_id)
    return assessment.status if assessment else "none"


async def test_submit_return_resubmit_approve_and_the_overview(
    world: World, repo: SqliteRepository
) -> None:
    w = world
    text = await submit_all(w.lan, SEED_002)
    assert "Đã gửi lãnh đạo đơn vị để duyệt: Thầy Minh" in text
    [note, report] = await outbox(repo, w.minh)
    assert "Trường Tiểu học Đắk Ruồng đã nộp báo cáo tự đánh giá năm 2023" in note.text
    assert "93/100" in note.text and "Tốt" in note.text
    assert report.files[0].name.endswith(".docx") and report.files[0].path.exists()
    approve, send_back = note.choices
    assert (approve.label, send_back.label) == ("✅ Duyệt", "↩ Trả lại, kèm góp ý")
    # The leader returns it with a comment; staff are told and the assessment reopens.
    await w.minh.press_token(send_back.token)
    assert "Góp ý để cán bộ sửa báo cáo" in w.minh.question.text
    text = await w.minh.say("Bổ sung minh chứng cho tiêu chí 3.")
    assert "Đã trả lại báo cáo" in text
    assert await status_of(repo, 2) == "returned"
    [own_copy, returned] = await outbox(repo, w.lan)  # the submitter's report, then the note
    assert own_copy.files[0].name.endswith(".docx")
    assert "“Bổ sung minh chứng cho tiêu chí 3.”" in returned.text
    await w.lan.command("menu")
    assert "Lãnh đạo trả lại kèm góp ý: “Bổ sung minh chứng cho tiêu chí 3.”" in w.lan.question.text
    # Staff fix one answer and submit again; the leader approves.
    await w.lan.command("xemlai")
    await w.lan.say("3b")
    assert "điểm 11 nằm ngoài thang điểm" in await w.lan.say("11")  # 3b is out of 10
    await w.lan.say("6")
    await w.lan.say("xong")
    await w.lan.command("xemlai")
    await w.lan.press("Xem kết quả và nộp")
    text = await w.lan.press("Nộp kết quả")
    assert "Tổng điểm" in text or "93/100" in text
    await w.minh.command("duyet")
    text = await w.minh.press("✅ Duyệt")
    assert "Đã duyệt báo cáo năm 2023" in text
    assert await status_of(repo, 2) == "approved"
    approved = [r.text for r in await outbox(repo, w.lan)]
    assert any("Thầy Minh đã duyệt" in text for text in approved)
    to_sup = await outbox(repo, w.sup)
    assert any("đã được lãnh đạo (Thầy Minh) duyệt" in r.text for r in to_sup)
    assert any(f.name.endswith(".docx") for r in to_sup for f in r.files)
    # The supervising level's overview and its workbook.
    before = len(await outbox(repo, w.sup))
    text = await w.sup.command("tonghop 2023")
    assert "Đang tổng hợp năm 2023" in text  # built by a job after the turn
    [summary, workbook] = (await outbox(repo, w.sup))[before:]
    assert "2 đơn vị trực thuộc" in summary.text
    assert "• Chưa bắt đầu: 1" in summary.text and "• Đã duyệt: 1" in summary.text
    assert "Trường Tiểu học Đắk Ruồng: đã duyệt — 94/100, Tốt" in summary.text
    [xlsx] = workbook.files
    check_workbook(xlsx.path)


def check_workbook(path: Path) -> None:
    sheet = openpyxl.load_workbook(path)["Tổng hợp"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "TỔNG HỢP KẾT QUẢ TỰ ĐÁNH GIÁ “ĐƠN VỊ HỌC TẬP” NĂM 2023"
    assert str(rows[1][0]).startswith(SUPERVISOR)
    assert rows[3] == (
        "STT", "Đơn vị", "Loại hình", "Trạng thái", "Đã trả lời", "Tiêu chí 1", "Tiêu chí 2",
        "Tiêu chí 3", "Tổng điểm / Số chỉ tiêu đạt", "Xếp loại / Kết quả công nhận", "Nộp lúc",
    )  # fmt: skip
    # Units by name: "Trường Mầm non…" before "Trường Tiểu học…".
    co_quan = "Cơ quan nhà nước, đơn vị sự nghiệp công lập, UBND"
    assert rows[4][:5] == (1, "Trường Mầm non Tân Lập", co_quan, "Chưa bắt đầu", None)
    assert rows[4][5:] == (None,) * 6
    assert rows[5][:10] == (
        2, "Trường Tiểu học Đắk Ruồng", co_quan, "Đã duyệt", "17/17",
        "30/30", "30/30", "34/40", "94/100", "Tốt",
    )  # fmt: skip
    assert isinstance(rows[5][10], datetime)
    assert len(rows) == 6


async def table_counts(repo: SqliteRepository) -> dict[str, int]:
    async with repo.transaction() as tx:
        counts = {}
        for table in ("units", "invites", "memberships", "assessments", "answers", "outbox"):
            row = await tx._one(f"SELECT count(*) FROM {table}")  # type: ignore[attr-defined]
            counts[table] = row[0]
        return counts


async def test_an_outsider_is_refused_everywhere_and_changes_nothing(
    world: World, repo: SqliteRepository, engine: Engine
) -> None:
    w = world
    await submit_all(w.lan, SEED_002)
    [note, _] = await outbox(repo, w.minh)
    staff_code = code_in(await w.lan.command("moi canbo"))
    x = ChatUser(engine, "x", "Người lạ")
    await x.command("start")
    await x.press("Đăng ký đơn vị mới")
    await x.say("Công ty TNHH Lạ")
    await x.press("Tổ chức kinh tế")
    await x.press("Cấp xã")
    await x.press("Để sau")
    before = await table_counts(repo)
    refusals = {
        "duyet 2": "không chờ bạn duyệt",
        "duyet": "Không có báo cáo nào đang chờ bạn duyệt",
        "pheduyet 2": "không chờ bạn duyệt",
        "tralai 2": "không chờ bạn duyệt",
        "tonghop": "dành cho cán bộ đơn vị cấp trên",
        "tonghop 2023": "dành cho cán bộ đơn vị cấp trên",
        f"huymoi {staff_code}": "Không tìm thấy mã mời",
        "moi captren": "Không có vai trò “captren”",
        "moi donvi": "Không có vai trò “donvi”",
        f"taocaptren {SUPERVISOR}": "Chỉ quản trị viên",
    }
    for line, refusal in refusals.items():
        text = await x.command(line)
        assert refusal in text, (line, text)
        assert "Đắk Ruồng" not in text and not x.replies[0].files, line
    for button in note.choices:  # the leader's buttons, forged
        await x.press_token(button.token)
        assert "không chờ bạn duyệt" in x.text
    await x.press_token(w.minh.question.choices[0].token)  # another chat's nonce
    assert "đã chuyển sang câu khác" in x.text
    await x.press_token("!@2 tieptuc")  # a reminder's button of unit 2, forged
    assert "không còn là thành viên của đơn vị" in x.text
    # Staff of the unit are not its leader either.
    for button in note.choices:
        await w.lan.press_token(button.token)
        assert "không chờ bạn duyệt" in w.lan.text
    assert await status_of(repo, 2) == "submitted"
    assert await table_counts(repo) == before
    async with repo.transaction() as tx:
        invite = await tx.get_invite(staff_code)
        supervisor = await tx.get_unit(1)
        units = await tx.supervised_units(1)
    assert invite is not None and not invite.revoked
    assert supervisor is not None and supervisor.supervises
    assert [u.name for u in units] == ["Trường Mầm non Tân Lập", "Trường Tiểu học Đắk Ruồng"]
    assert await outbox(repo, x) == []


async def test_an_administrator_can_invite_again_into_a_supervising_unit(
    world: World, repo: SqliteRepository
) -> None:
    text = await world.admin.command(f"taocaptren {SUPERVISOR.upper()}")
    assert f"Đơn vị cấp trên “{SUPERVISOR}” đã có" in text
    async with repo.transaction() as tx:
        supervising = [u for u in await tx.units() if u.supervises]
    assert len(supervising) == 1  # no second copy
    second = ChatUser(world.admin.engine, "sup2", "Anh Hai")
    await second.command(f"start {code_in(text)}")
    assert "tổng hợp năm" in await second.command("tonghop 2023")


async def test_a_code_never_changes_a_role_and_leader_codes_are_single_use(
    world: World, repo: SqliteRepository, engine: Engine
) -> None:
    w = world
    # Staff cannot invite a leader once the unit has one, nor promote themselves.
    assert "Không có vai trò “lanhdao”" in await w.lan.command("moi lanhdao")
    leader_code = code_in(await w.minh.command("moi lanhdao"))
    assert "Bạn đã là cán bộ phụ trách của đơn vị này" in await w.lan.command(
        f"start {leader_code}"
    )
    assert "Không có báo cáo nào đang chờ bạn duyệt" in await w.lan.command("duyet")
    # A leader code serves one person only.
    first, second = ChatUser(engine, "p1", "Phó 1"), ChatUser(engine, "p2", "Phó 2")
    assert "lãnh đạo đơn vị" in await first.command(f"start {leader_code}")
    assert "Mã mời không đúng" in await second.command(f"start {leader_code}")
    # A leader keeps the role when given a staff code.
    staff_code = code_in(await w.lan.command("moi canbo"))
    assert "Bạn đã là lãnh đạo đơn vị" in await w.minh.command(f"start {staff_code}")
    async with repo.transaction() as tx:
        roles = {p.display_name: role for p, role in await tx.members(2)}
    assert roles == {"Cô Lan": "staff", "Thầy Minh": "leader", "Phó 1": "leader"}


async def test_a_unit_code_registers_one_unit_only(
    world: World, repo: SqliteRepository, engine: Engine
) -> None:
    """Issue 17, item 1: the code that registered a unit is used up; strangers get nothing."""
    code = world.codes["unit"]  # the one Cô Hoa registered her unit with
    async with repo.transaction() as tx:
        invite = await tx.get_invite(code)
        before = len(await tx.units())
    assert invite is not None and invite.revoked
    for n in range(3):
        stranger = ChatUser(engine, f"x{n}", f"Người lạ {n}")
        assert "Mã mời không đúng" in await stranger.command(f"start {code}")
    async with repo.transaction() as tx:
        assert len(await tx.units()) == before


async def test_two_people_racing_for_one_unit_code_register_one_unit(
    world: World, repo: SqliteRepository, engine: Engine
) -> None:
    code = code_in(await world.sup.command("moi donvi"))
    first, second = ChatUser(engine, "r1", "Một"), ChatUser(engine, "r2", "Hai")
    for user, name in ((first, "Trường THCS Một"), (second, "Trường THCS Hai")):
        await user.command(f"start {code}")
        await user.say(name)
        await user.press(CO_QUAN)
    assert "Đã đăng ký đơn vị “Trường THCS Một”" in await first.press("Cấp xã")
    text = await second.press("Cấp xã")
    assert "đã được dùng để đăng ký một đơn vị khác" in text
    async with repo.transaction() as tx:
        names = [u.name for u in await tx.supervised_units(1)]
    assert "Trường THCS Một" in names and "Trường THCS Hai" not in names


async def test_a_second_unit_of_the_same_name_is_asked_about(
    world: World, repo: SqliteRepository, engine: Engine
) -> None:
    code = code_in(await world.sup.command("moi donvi"))
    again = ChatUser(engine, "dup", "Người trùng")
    await again.command(f"start {code}")
    text = await again.say("trường tiểu học  ĐẮK RUỒNG")
    assert "đã có một đơn vị tên “trường tiểu học ĐẮK RUỒNG”" in text
    assert "Đơn vị “" not in text  # not on to the kind question
    await again.press("Nhập tên khác")
    await again.say("Trường Tiểu học Đắk Ruồng")
    await again.press("Vẫn đăng ký")  # a different school of the same name: asked, then allowed
    await again.press(CO_QUAN)
    assert "Đã đăng ký đơn vị" in await again.press("Cấp xã")
    async with repo.transaction() as tx:
        names = [u.name for u in await tx.supervised_units(1)]
    assert names.count("Trường Tiểu học Đắk Ruồng") == 2


async def test_an_old_approve_button_cannot_approve_a_resubmission(
    world: World, repo: SqliteRepository
) -> None:
    w = world
    await submit_all(w.lan, SEED_002)
    [first_note, _] = await outbox(repo, w.minh)
    await w.minh.press_token(first_note.choices[1].token)  # return
    await w.minh.say("Sửa 1a.")
    await w.lan.command("xemlai")
    await w.lan.say("1a")
    await w.lan.say("0")
    await w.lan.say("xong")
    await w.lan.command("xemlai")
    await w.lan.press("Xem kết quả và nộp")
    await w.lan.press("Nộp kết quả")
    assert await status_of(repo, 2) == "submitted"
    text = await w.minh.press_token(first_note.choices[0].token)
    assert "thuộc một lần nộp trước" in text
    assert await status_of(repo, 2) == "submitted"
    notes = [r for r in await outbox(repo, w.minh) if r.choices]
    text = await w.minh.press_token(notes[-1].choices[0].token)  # the new message's button
    assert "Đã duyệt báo cáo năm 2023" in text
    assert await status_of(repo, 2) == "approved"


async def test_a_submitted_assessment_cannot_change(world: World, repo: SqliteRepository) -> None:
    w = world
    await submit_all(w.lan, SEED_002)
    async with repo.transaction() as tx:
        assessment = await tx.latest_assessment(2)
        assert assessment is not None
        before = await tx.answers(assessment.id)
    # A colleague still on an earlier screen tries to add evidence, and to start over.
    hoa_b = ChatUser(w.lan.engine, "lan")  # the same person, the chat as it is now
    await hoa_b.command("xemlai")
    await hoa_b.say("1a")
    assert "đã nộp" in (await hoa_b.say("5")).lower()
    async with repo.transaction() as tx:
        assert await tx.answers(assessment.id) == before


async def test_the_leader_queue_keeps_an_earlier_year(world: World, repo: SqliteRepository) -> None:
    w = world
    await submit_all(w.lan, SEED_002)
    await w.lan.command("danhgia 2024")  # the next year opened before the leader looked
    text = await w.minh.command("duyet")
    assert "chờ bạn duyệt" in text and "2023" in text


async def test_invites_are_per_role_and_can_be_revoked(world: World, engine: Engine) -> None:
    w = world
    await w.minh.command("moi")
    labels = [c.label for c in w.minh.question.choices]
    assert labels[:2] == ["Cán bộ (trả lời, nộp)", "Lãnh đạo (duyệt báo cáo)"]
    assert "Cán bộ cấp trên (xem tổng hợp)" not in labels  # only a supervising unit has those
    await w.lan.command("moi")  # staff, once the unit has its leader: colleagues only
    assert [c.label for c in w.lan.question.choices][:-1] == ["Cán bộ (trả lời, nộp)"]
    text = await w.lan.press("Cán bộ")
    code = code_in(text)
    assert f"https://t.me/dvht_bot?start={code}" in text
    assert f"Đã hủy mã mời {code}" in await w.lan.command(f"huymoi {code}")
    late = ChatUser(engine, "late", "Anh Muộn")
    await late.command(f"start {code}")
    assert "không đúng" in late.text.lower() or "hết hạn" in late.text.lower()


@dataclass
class FlakyChannel:
    """A channel whose first `failures` sends fail (a network down, Telegram's 5xx)."""

    failures: int
    name: str = "test"
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("network down")
        self.sent += [(chat_id, reply.text) for reply in replies]


async def test_the_outbox_delivers_after_two_failures_exactly_once(
    world: World, repo: SqliteRepository
) -> None:
    await submit_all(world.lan, SEED_002)
    await run_jobs(world.lan.engine)  # the report, for the leader and for the submitter
    clock = [datetime.now(UTC)]
    channel = FlakyChannel(failures=6)  # three rows (note, two reports) fail twice each
    worker = OutboxWorker(repo, {"test": channel}, clock=lambda: clock[0])
    assert await worker.run_once() == 0
    assert await worker.run_once() == 0  # nothing is due until the pause is over
    clock[0] += timedelta(minutes=1)
    assert await worker.run_once() == 0  # the second failure
    clock[0] += timedelta(hours=1)
    assert await worker.run_once() == 3
    for _ in range(3):
        clock[0] += timedelta(days=1)
        assert await worker.run_once() == 0
    assert sorted(chat for chat, _ in channel.sent) == ["lan", "minh", "minh"]
    notes = [text for _, text in channel.sent if "đã nộp báo cáo" in text]
    assert len(notes) == 1


async def test_reminders_recall_unfinished_work_and_can_be_muted(
    world: World, repo: SqliteRepository, engine: Engine
) -> None:
    await world.hoa.command("danhgia")
    await world.hoa.say("8")
    base = datetime.now(UTC)  # stored times are real; the engine's "today" is TODAY

    async def remind(days: int) -> int:
        """Run the reminder check `days` after the last answer."""
        async with repo.transaction() as tx:
            return await send_reminders(
                tx, base + timedelta(days=days), TODAY + timedelta(days=days), engine.settings
            )

    # Two units: Hoa's is unfinished, Lan's has not started; the supervising unit is not told.
    assert await remind(6) == 0  # within a week of the last change
    assert await remind(8) == 2
    [reminder] = await outbox(repo, world.hoa)
    unfinished = "bài tự đánh giá năm 2023 của Trường Mầm non Tân Lập chưa xong (1/17 câu)"
    assert unfinished in reminder.text
    assert "Hạn nộp hồ sơ: 31/03/2024" in reminder.text
    [not_started] = await outbox(repo, world.lan)
    assert "Trường Tiểu học Đắk Ruồng chưa bắt đầu tự đánh giá" in not_started.text
    assert await outbox(repo, world.sup) == []
    assert await remind(9) == 0
    assert await remind(15) == 2
    # Daily in the last ten days before the deadline (31/03/2024 is TODAY + 59 days).
    assert await remind(53) == 2
    assert await remind(54) == 2
    await world.hoa.command("tatnhac")
    assert "Đã tắt nhắc việc" in world.hoa.text
    await world.hoa.command("tatnhac")  # a second press keeps them off
    assert await remind(55) == 1  # Lan's unit only
    await world.hoa.command("batnhac")
    assert "Đã bật lại nhắc việc" in world.hoa.text
    assert await remind(56) == 2
    # 02/04/2024: the 2023 deadline has passed (Hoa's unfinished 2023 is no longer recalled);
    # the year being assessed is now 2024, which Lan's unit has not started (TT 24: 14/01/2025).
    assert await remind(61) == 1
    latest = (await outbox(repo, world.lan))[-1].text
    assert "chưa bắt đầu tự đánh giá “Đơn vị học tập” năm 2024" in latest
    assert "Hạn nộp hồ sơ: 14/01/2025" in latest


async def test_a_leader_who_cannot_be_reached_is_given_up_and_staff_are_told(
    world: World, repo: SqliteRepository
) -> None:
    """A recipient who blocked the bot: tried MAX_ATTEMPTS times over about two days, then no
    more, and the unit's staff hear whom the message did not reach (once)."""
    from bot.outbox import MAX_ATTEMPTS

    await submit_all(world.lan, SEED_002)
    await run_jobs(world.lan.engine)
    clock = [datetime.now(UTC)]

    class Blocked:
        name = "test"
        tries = 0

        async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
            if chat_id == "minh":
                Blocked.tries += 1
                raise ConnectionError("Forbidden: bot was blocked by the user")

    worker = OutboxWorker(repo, {"test": Blocked()}, clock=lambda: clock[0])
    for _ in range(200):  # 400 simulated hours
        await worker.run_once()
        clock[0] += timedelta(hours=2)
    minh_rows = 2  # the summary with its buttons, and the report
    assert Blocked.tries == MAX_ATTEMPTS * minh_rows  # then never again
    with closing(sqlite3.connect(repo.url)) as conn:
        notices = conn.execute(
            "SELECT chat_id, payload FROM outbox WHERE payload LIKE '%undeliverable_notice%'"
            " AND sent_at IS NOT NULL"
        ).fetchall()
    assert [chat for chat, _ in notices] == ["lan"] * minh_rows  # none about a notice
    assert all("Thầy Minh" in payload and "Đắk Ruồng" in payload for _, payload in notices)
