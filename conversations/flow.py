"""The dialogue as one declared graph: each mode and the screen that answers it.

Read this table to see every state a chat can be in; each screen's module says where it goes
next (`show(ctx, Mode.X)`). The table is built here, explicitly: nothing is registered by
importing a module. The engine hands it to every turn (`Ctx.flow`), so a screen moves the chat
to another screen without importing it, and the modules form a one-way graph:

    modes, events <- context <- screen <- working <- results <- reporting
    working, results <- questions <- level1, review, opening, part_notes
    reporting <- narratives <- review, submission
    reporting, roles, outbox <- approval <- submission
    roles <- invites <- onboarding;  roles, results <- overview
    opening, approval, overview <- menu;  every screen's module <- flow <- engine

Main paths (→ reads "moves to"):

    start → reg_name [→ reg_same_name] → reg_kind → reg_level → reg_more → details… → menu
    start → join → menu
    menu → prefill | resume | ask (open the year) · details · invite_role · approvals | approval
    resume → ask | review | confirm_restart → ask;  prefill → ask
    ask → ask (next unanswered; evidence typed with the answer) … → [level1_decision →]
        confirm_submit;  ask → evidence ("Thêm minh chứng") → ask;  ask → part_note → ask
    confirm_submit → narrative (part III, section by section) → confirm_submit → menu (submitted)
    review → ask (edit a code) | narrative (edit a section) | confirm_submit;
    status, review (read-only once submitted) → menu
    approvals → approval → return_comment → menu;  approval → menu (approved)
    /doiten: rename_pick (a supervising unit's staff) → rename_name → menu
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from conversations.approval import Approval, Approvals, ReturnComment
from conversations.context import Ctx
from conversations.invites import InviteRole
from conversations.level1 import Level1Decision
from conversations.menu import Menu
from conversations.modes import Mode
from conversations.narratives import NarrativeSection
from conversations.onboarding import (
    Details,
    Join,
    RegisterKind,
    RegisterLevel,
    RegisterMore,
    RegisterName,
    RegisterSameName,
    Start,
)
from conversations.opening import ConfirmRestart, Prefill, Resume
from conversations.part_notes import PartNote
from conversations.questions import Ask, Evidence
from conversations.rename import RenameName, RenamePick
from conversations.review import Review, Status
from conversations.screen import Screen
from conversations.submission import ConfirmSubmit

SCREENS: Mapping[Mode, Screen] = MappingProxyType(
    {
        Mode.START: Start(),
        Mode.JOIN: Join(),
        Mode.REG_NAME: RegisterName(),
        Mode.REG_SAME_NAME: RegisterSameName(),
        Mode.REG_KIND: RegisterKind(),
        Mode.REG_LEVEL: RegisterLevel(),
        Mode.REG_MORE: RegisterMore(),
        Mode.DETAILS: Details(),
        Mode.RENAME_PICK: RenamePick(),
        Mode.RENAME_NAME: RenameName(),
        Mode.MENU: Menu(),
        Mode.PREFILL: Prefill(),
        Mode.RESUME: Resume(),
        Mode.CONFIRM_RESTART: ConfirmRestart(),
        Mode.ASK: Ask(),
        Mode.EVIDENCE: Evidence(),
        Mode.PART_NOTE: PartNote(),
        Mode.LEVEL1_DECISION: Level1Decision(),
        Mode.REVIEW: Review(),
        Mode.STATUS: Status(),
        Mode.NARRATIVE: NarrativeSection(),
        Mode.CONFIRM_SUBMIT: ConfirmSubmit(),
        Mode.INVITE_ROLE: InviteRole(),
        Mode.APPROVALS: Approvals(),
        Mode.APPROVAL: Approval(),
        Mode.RETURN_COMMENT: ReturnComment(),
    }
)


def current(ctx: Ctx) -> Screen:
    """The screen of the chat's stored mode (the start screen for a mode no longer known)."""
    return SCREENS[Mode.stored(ctx.chat.mode)]
