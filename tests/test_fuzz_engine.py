"""The engine under random conversations (hypothesis stateful testing).

Two staff of a unit (with a leader or not), maybe a second unit, and a stranger send random
commands, texts, numbers, counts, files, real and forged button tokens, other people's buttons
and redeliveries, some of them at the same moment, starting from every stage of the first unit's
assessment (answering, confirming, submitted while a colleague had a question, an evidence step
or "start over?" open, approved, returned). After every step the stored state must still make
sense: no internal error, a reply to every new event, nothing for a redelivery, every stored
answer valid under its framework (and only for questions asked of that unit), statuses moving
only forward as the workflow allows, a submitted report complete and its answers frozen, the
result computable.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conversations.engine import Engine
from conversations.events import ChoiceKind, IncomingFile
from conversations.flow import SCREENS
from conversations.settings import Settings
from conversations.working import questionnaire
from rubric.answers import AnswerError, parse_answer
from rubric.scoring import PointsResult
from storage.base import AnswerRecord, Assessment, Unit
from storage.sqlite import SqliteRepository
from templates.text import t
from tests.chat_driver import ChatUser, register_unit
from tests.test_engine import SEED_002

TODAY = date(2024, 2, 1)  # default year 2023 (TT 22); "danhgia 2024" opens TT 24
INTERNAL_ERROR = t("error.internal")
KINDS = ("Cơ quan nhà nước", "Cơ sở giáo dục phổ thông", "Nhà trẻ", "Tổ chức kinh tế")
LEVELS = ("Cấp xã", "Cấp tỉnh")
STAGES = ("answering", "confirming", "submitted", "approved", "returned")

# What the edges of a conversation look like; arguments point at ids that exist in every run.
COMMANDS = [
    "start", "menu", "huy", "trogiup", "danhgia", "danhgia 2023", "danhgia 2024",
    "danhgia 1999", "danhgia abc", "tieptuc", "xemlai", "tamdung", "thongtin", "quyetdinh",
    "moi", "moi canbo", "moi lanhdao", "moi captren", "moi donvi", "moi xyz", "huymoi",
    "huymoi AAAAAAAA", "duyet", "duyet 1", "duyet 2", "duyet 3", "duyet x", "tonghop",
    "tonghop 2023", "tonghop 3000", "tatnhac", "taocaptren Phòng GD&ĐT huyện Kon Rẫy",
    "taocaptren", "khonglenh", "start AAAAAAAA", "start", "danhgia@dvht_bot 2023",
]  # fmt: skip
WORDS = [
    "xong", "bỏ qua", "bo qua", "quay lại", "xem lại", "tạm dừng", "tiếp tục", "hủy", "menu",
    "help", "có", "không", "không áp dụng", "na", "đạt", "1a", "3a5", "2.1", "sửa 1b", "Nộp",
    "Xóa và làm lại", "1", "2", "3", "7", "10", "11", "-1", "7,5", "8/10", "8 điểm", "31/32",
    "32 32", "33/32", "0/0", "90%", "31 trên 32", "125/QĐ-UBND ngày 20/01/2023",
    "125/QĐ-UBND ngày 30/02/2023", "0276 3874 123", "pnv@tayninh.gov.vn", "", "   ",
    "Kế hoạch số 12/KH-UBND ngày 10/01/2023",
]  # fmt: skip
texts = st.one_of(
    st.sampled_from(WORDS),
    st.integers(-3, 40).map(str),
    st.tuples(st.integers(0, 60), st.integers(0, 60)).map(lambda p: f"{p[0]}/{p[1]}"),
    st.text(max_size=40),
    st.integers(4001, 4100).map(lambda n: "x" * n),  # longer than a message may be
)
FORGED_VALUES = [
    "s:99", "s:-1", "s:7", "o:submit", "o:yes", "o:approve", "v:1", "v:2", "r:captren",
    "r:donvi", "k:khac", "l:cap-tinh", "a:done", "o:keep", "o:restart", "a:cancel",
]  # fmt: skip
COMMAND_BUTTONS = ["!duyet 1", "!duyet 2", "!tieptuc", "!huymoi AAAAAAAA", "!tonghop", "!"]
forged = st.one_of(
    st.text(max_size=70), st.sampled_from(COMMAND_BUTTONS), st.sampled_from(FORGED_VALUES)
)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="dvht-fuzz-"))
        self.db_path = self.folder / "db.sqlite3"
        self.runner = asyncio.Runner()
        self.repo = self.runner.run(SqliteRepository.open(self.db_path))
        engine_settings = Settings(
            reports_dir=self.folder / "reports", admins=frozenset({"test:admin"})
        )
        self.engine = Engine(self.repo, engine_settings, today=lambda: TODAY)
        self.users: list[ChatUser] = []
        self.statuses: dict[int, str] = {}
        self.frozen: dict[int, dict[str, tuple[str | None, str]]] = {}

    def teardown(self) -> None:
        self.runner.run(self.repo.close())
        self.runner.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- a step -------------------------------------------------------------------------------

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)

    def check_replies(self, user: ChatUser) -> None:
        assert user.replies, f"no reply to {user.last_event}"
        for reply in user.replies:
            assert reply.text != INTERNAL_ERROR, f"internal error on {user.last_event}"
            assert reply.text or reply.files, f"an empty reply to {user.last_event}"

    def user(self, index: int) -> ChatUser:
        return self.users[index % len(self.users)]

    # --- the people -------------------------------------------------------------------------

    @initialize(
        second_unit=st.booleans(),
        leader=st.booleans(),
        kind=st.sampled_from(KINDS),
        level=st.sampled_from(LEVELS),
        answered=st.integers(0, len(SEED_002)),
        stage=st.sampled_from(STAGES),
        left_open=st.sampled_from(("question", "evidence", "restart")),
    )
    def people(
        self,
        second_unit: bool,
        leader: bool,
        kind: str,
        level: str,
        answered: int,
        stage: str,
        left_open: str,
    ) -> None:
        """The unit's staff (and maybe a leader), maybe a second unit, a stranger; the first
        unit's assessment taken to `stage`, so that the steps start from deep states too."""

        async def setup() -> None:
            lan, hung = ChatUser(self.engine, "lan", "Lan"), ChatUser(self.engine, "hung", "Hùng")
            code = await register_unit(lan, "Trường Tiểu học Đắk Ruồng", "Cơ quan nhà nước")
            await hung.command(f"start {code}")
            self.users += [lan, hung]
            minh = ChatUser(self.engine, "minh", "Minh")
            if leader or stage in ("approved", "returned"):
                await lan.command("moi lanhdao")
                invite = lan.text.split("(dùng được")[0].split()[-1]
                await minh.command(f"start {invite}")
                self.users.append(minh)
            if second_unit:
                hoa = ChatUser(self.engine, "hoa", "Hoa")
                await register_unit(hoa, "Trường Mầm non Tân Lập", kind, level)
                self.users.append(hoa)
            self.users.append(ChatUser(self.engine, "x", "Người lạ"))
            await lan.command("danhgia")
            scores = list(SEED_002.values())
            for score in scores if stage != "answering" else scores[:answered]:
                await lan.say(str(score))
                await lan.say("xong")
            if stage == "answering":
                return
            while "Dùng bản nháp này" in [c.label for c in lan.question.choices]:
                await lan.press("Dùng bản nháp này")
            if stage == "confirming":
                return
            await hung.command("tieptuc")  # a colleague left a screen open…
            if left_open == "restart":
                await hung.press("Làm lại từ đầu")
            else:
                await hung.press("Xem lại các câu trả lời")
                await hung.say("1b")
                if left_open == "evidence":
                    await hung.say("9")
            await lan.press("Nộp kết quả")  # …while the report is submitted
            if stage in ("approved", "returned"):
                await minh.command("duyet")
                if stage == "approved":
                    await minh.press("✅ Duyệt")
                else:
                    await minh.press("↩ Trả lại")
                    await minh.say("Bổ sung minh chứng cho tiêu chí 3.")

        self.run(setup())

    # --- what people do -----------------------------------------------------------------------

    @rule(who=st.integers(0, 4), line=st.sampled_from(COMMANDS))
    def command(self, who: int, line: str) -> None:
        user = self.user(who)
        self.run(user.command(line))
        self.check_replies(user)

    @rule(who=st.integers(0, 4), text=texts)
    def say(self, who: int, text: str) -> None:
        user = self.user(who)
        self.run(user.say(text))
        self.check_replies(user)

    @rule(who=st.integers(0, 4), pick=st.integers(0, 40))
    def press_a_live_button(self, who: int, pick: int) -> None:
        user = self.user(who)
        choices = [c for reply in user.replies for c in reply.choices]
        if not choices:
            return
        self.run(user.press_token(choices[pick % len(choices)].token))
        self.check_replies(user)

    @rule(who=st.integers(0, 4), whose=st.integers(0, 4), pick=st.integers(0, 40))
    def press_someone_elses_button(self, who: int, whose: int, pick: int) -> None:
        user, other = self.user(who), self.user(whose)
        choices = [c for reply in other.replies for c in reply.choices]
        if not choices:
            return
        self.run(user.press_token(choices[pick % len(choices)].token))
        self.check_replies(user)

    @rule(who=st.integers(0, 4), token=forged, with_nonce=st.booleans())
    def press_a_forged_button(self, who: int, token: str, with_nonce: bool) -> None:
        user = self.user(who)
        live = [c.token for reply in user.replies for c in reply.choices if "." in c.token]
        if with_nonce and live and not token.startswith("!"):
            token = f"{live[0].split('.')[0]}.{token}"  # the chat's own nonce, a forged value
        self.run(user.press_token(token))
        self.check_replies(user)

    @rule(who=st.integers(0, 4), data=st.data())
    def answer_the_question(self, who: int, data: st.DataObject) -> None:
        """What a cooperative person does: a valid answer to the question shown, or "xong"."""
        user = self.user(who)
        if not user.replies:
            return
        question = user.question
        scores = [c for c in question.choices if c.kind is ChoiceKind.SCORE]
        words = [c for c in question.choices if c.kind is ChoiceKind.OPTION]
        if scores:
            self.run(user.press_token(data.draw(st.sampled_from(scores)).token))
        elif "Nhập số thành viên đạt" in question.text:
            total = data.draw(st.integers(1, 60))
            self.run(user.say(f"{data.draw(st.integers(0, total))}/{total}"))
        elif words:
            self.run(user.press_token(data.draw(st.sampled_from(words)).token))
        else:
            self.run(user.say("xong"))
        self.check_replies(user)

    @rule(who=st.integers(0, 4), size=st.integers(0, 30 * 1024 * 1024), photo=st.booleans())
    def send_a_file(self, who: int, size: int, photo: bool) -> None:
        user = self.user(who)
        file = (
            IncomingFile("photo", f"p{size}", None, "image/jpeg", size, caption="Ảnh minh chứng")
            if photo
            else IncomingFile("document", f"d{size}", "ke-hoach.pdf", "application/pdf", size)
        )
        self.run(user.send_file(file))
        self.check_replies(user)

    @rule(who=st.integers(0, 4))
    def redeliver(self, who: int) -> None:
        user = self.user(who)
        if user.last_event is None:
            return
        assert self.run(user.redeliver()) == [], "a redelivered update must change nothing"

    @rule(a=st.integers(0, 4), b=st.integers(0, 4), first=texts, second=texts)
    def two_at_once(self, a: int, b: int, first: str, second: str) -> None:
        one, two = self.user(a), self.user(b)
        if one is two:
            return

        async def both() -> None:
            await asyncio.gather(one.say(first), two.say(second))

        self.run(both())
        self.check_replies(one)
        self.check_replies(two)

    # --- what must always hold ----------------------------------------------------------------

    @invariant()
    def stored_state_satisfies_the_rubric(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        conn = sqlite3.connect(self.db_path)  # ids only; the records come through the repository
        try:
            assessment_ids = [i for (i,) in conn.execute("SELECT id FROM assessments")]
            chats = list(conn.execute("SELECT mode, unit_id, person_id FROM chats"))
        finally:
            conn.close()
        async with self.repo.transaction() as tx:
            for assessment_id in assessment_ids:
                assessment = await tx.get_assessment_by_id(assessment_id)
                assert assessment is not None
                unit = await tx.get_unit(assessment.unit_id)
                assert unit is not None
                records = await tx.answers(assessment_id)
                self._check_answers(unit, assessment, records)
                self._check_workflow(assessment, records)
            for mode, unit_id, person_id in chats:
                assert mode in SCREENS, mode
                members = {m.unit_id for m in await tx.memberships(person_id)}
                assert unit_id is None or unit_id in members, (unit_id, members)

    def _check_answers(
        self, unit: Unit, assessment: Assessment, records: dict[str, AnswerRecord]
    ) -> None:
        q = questionnaire(unit, assessment)
        for code, record in records.items():
            assert code in q.specs, f"an answer for {code}, not asked of {unit.kind}"
            for raw in (record.value, record.prefill):
                if raw is not None:
                    try:
                        parse_answer(q.specs[code], raw)
                    except AnswerError as error:  # pragma: no cover - the failure itself
                        raise AssertionError(f"{code}={raw!r} stored: {error}") from error
        decoded = q.decode(records)
        if assessment.status in ("submitted", "approved"):
            assert not q.unanswered(decoded), "a report submitted with unanswered questions"
        result, _ = q.standing(decoded, unit, TODAY)
        if isinstance(result, PointsResult):
            assert result.total == sum(c.score for c in result.criteria)
            assert 0 <= result.total <= result.max_total == 100

    def _check_workflow(self, assessment: Assessment, records: dict[str, AnswerRecord]) -> None:
        before = self.statuses.get(assessment.id)  # None: first seen (set up, or just created)
        now = assessment.status
        event(f"an assessment {now}")
        allowed = {
            "draft": {"draft", "submitted"},
            "returned": {"returned", "submitted"},
            "submitted": {"submitted", "approved", "returned"},
            "approved": {"approved"},
        }
        assert before is None or now in allowed[before], f"{before} -> {now}"
        if now == "submitted":
            assert assessment.submitted_at is not None and assessment.submitted_by is not None
        if now in ("approved", "returned"):
            assert assessment.decided_by is not None
        if now in ("submitted", "approved"):  # locked: nobody may change the answers
            values = {code: (r.value, r.evidence) for code, r in records.items()}
            if before == now:  # still locked since the last step
                assert values == self.frozen[assessment.id], "a locked report's answers changed"
            self.frozen[assessment.id] = values
        self.statuses[assessment.id] = now


EngineMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain"
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_engine_under_random_conversations = EngineMachine.TestCase
