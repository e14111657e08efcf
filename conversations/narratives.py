"""Part III of the report (ưu điểm, tồn tại, kiến nghị, phương hướng): read and changed one
section at a time, from the submit screen or the review screen, like an answer.

A section is in one of three states, kept in the narratives table:

- no row: nobody chose yet; the report shows the assistant's draft, flagged as a draft;
- a row with `is_draft` true: the unit chose the assistant's draft. Its text is drafted again
  from the answers whenever it is read, so it always describes the answers as submitted (an
  edit of 3b after accepting the draft changes "Tồn tại" too);
- a row with `is_draft` false: the unit's own words, kept as written. If they quote a figure
  the answers no longer give (“93/100” after an edit), the submit screen says so.
"""

from __future__ import annotations

import re
from dataclasses import replace

from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.reporting import report_data
from conversations.screen import Screen, show
from conversations.working import require, require_editable
from rubric.answers import fold
from templates.report import SECTION_KEYS, Narrative, draft_message
from templates.text import t

# A figure as people quote it ("93/100", "14/20"), not a date ("05/01/2023") nor a number of
# a document ("12/KH-UBND").
FIGURE = re.compile(r"(?<![\d/])(\d{1,5})\s*/\s*(\d{1,5})(?![\d/])")
MIN_WORDS_CHARS = 4  # "2", "ok", "xong" are never a section's text


def section_named(typed: str) -> str | None:
    """The section a person names ("ưu điểm", "ton tai", "III.2", "phần 4"), if any."""
    folded = fold(typed).replace("phan", "").replace("muc", "").strip(" .:")
    for n, key in enumerate(SECTION_KEYS, 1):
        names = {fold(t(f"report.section.{key}")), fold(t(f"narrative.short.{key}"))}
        if folded in names or folded in (f"iii.{n}", f"iii{n}", f"iii {n}"):
            return key
    return None


def figures(text: str) -> set[str]:
    """The "a/b" figures quoted in `text`, spaces removed."""
    return {f"{a}/{b}" for a, b in FIGURE.findall(text)}


def not_a_text(typed: str) -> bool:
    """A lone number, a choice's word or a command: never taken as a section's text."""
    word = fold(typed).strip(" .!")
    if not any(ch.isalpha() for ch in word) or len(word) < MIN_WORDS_CHARS:
        return True
    commands = {fold(t(f"word.{name}")) for name in ("cancel", "skip", "back", "review", "pause")}
    return word in commands | {"xong", "co", "khong", "dung", "ok", "nop", "de sau"}


class NarrativeSection(Screen):
    """One section of part III: its text now (the draft, or the unit's own words), to keep,
    replace by typing, or set back to the draft. `then`: where to go once done ("review" or
    "submit"); `walk`: go on to the next section after this one."""

    def _section(self, ctx: Ctx) -> str:
        section = str(ctx.chat.data.get("section"))
        return section if section in SECTION_KEYS else SECTION_KEYS[0]

    async def _current(self, ctx: Ctx) -> tuple[Narrative, bool]:
        """The section as the report would print it now, and whether the unit wrote it."""
        loaded = await require(ctx)
        data = await report_data(ctx.tx, loaded, ctx.today)
        stored = await ctx.tx.narratives(loaded.assessment.id)
        row = stored.get(self._section(ctx))
        return data.narratives.get(self._section(ctx)), row is not None and not row[1]

    async def prompt(self, ctx: Ctx) -> Reply:
        section = self._section(ctx)
        narrative, own = await self._current(ctx)
        name = t(f"report.section.{section}")
        if own:
            text = t("narrative.own", section=name, text=narrative.text)
        else:
            text = draft_message(section, narrative) + "\n\n" + t("narrative.draft_follows")
        text += "\n\n" + t("narrative.ask")
        options = [Option(t("narrative.accept"), "o:accept")]
        if own or ctx.chat.data.get("walk"):
            options.append(Option(t("narrative.keep"), "o:keep"))
        options.append(Option(t("narrative.done"), "o:done"))
        return replace(ctx.prompt(text, options), multiline=True)

    async def _save(self, ctx: Ctx, text: str, *, draft: bool) -> list[Reply]:
        assessment = (await require_editable(ctx)).assessment
        section = self._section(ctx)
        await ctx.tx.put_narrative(assessment.id, section, text, draft, ctx.person.id)
        await ctx.tx.log(
            "narrative.saved",
            person_id=ctx.person.id,
            unit_id=assessment.unit_id,
            assessment_id=assessment.id,
            data={"section": section, "draft": draft},
        )
        key = "narrative.saved_draft" if draft else "narrative.saved"
        saved = Reply(t(key, section=t(f"report.section.{section}")))
        return [saved, *await self._after(ctx)]

    async def _after(self, ctx: Ctx) -> list[Reply]:
        """The next section when walking through part III, else back where the person was."""
        section = self._section(ctx)
        index = SECTION_KEYS.index(section)
        then = str(ctx.chat.data.get("then") or "submit")
        if ctx.chat.data.get("walk") and index + 1 < len(SECTION_KEYS):
            return [
                await show(
                    ctx, Mode.NARRATIVE, section=SECTION_KEYS[index + 1], then=then, walk=True
                )
            ]
        return [await show(ctx, Mode.REVIEW if then == "review" else Mode.CONFIRM_SUBMIT)]

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:accept":
            narrative, own = await self._current(ctx)
            # Kept for whoever reads the table; the report drafts the text again when read.
            return await self._save(ctx, "" if own else narrative.text, draft=True)
        if value == "o:keep":
            return await self._after(ctx)
        if value == "o:done":
            ctx.chat.data["walk"] = False
            return await self._after(ctx)
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        if len(text) > ctx.settings.max_evidence_chars:
            return [
                Reply(t("evidence.too_long", max=ctx.settings.max_evidence_chars)),
                await self.prompt(ctx),
            ]
        if not_a_text(text):
            refused = Reply(t("narrative.not_a_text", typed=text.strip()[:20]))
            return [refused, await self.prompt(ctx)]
        return await self._save(ctx, text.strip(), draft=False)
