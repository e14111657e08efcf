"""The dialogue's states: one `Mode` per screen.

A chat's mode is stored in the database as its string value, so a value never changes once
released (rename the member, never the value). Which screen answers each mode is declared in
`conversations.flow`; this module imports nothing, so every screen module can name the mode it
moves to without importing the screen that shows it.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    # first contact and the unit (conversations.onboarding)
    START = "start"
    JOIN = "join"
    REG_NAME = "reg_name"
    REG_SAME_NAME = "reg_same_name"
    REG_KIND = "reg_kind"
    REG_LEVEL = "reg_level"
    REG_MORE = "reg_more"
    DETAILS = "details"
    RENAME_PICK = "rename_pick"  # conversations.rename
    RENAME_NAME = "rename_name"
    # the unit's home (conversations.menu)
    MENU = "menu"
    # opening a year's assessment (conversations.opening)
    PREFILL = "prefill"
    RESUME = "resume"
    CONFIRM_RESTART = "confirm_restart"
    # answering (conversations.questions), the mức độ 1 decision (conversations.level1)
    ASK = "ask"
    EVIDENCE = "evidence"
    PART_NOTE = "part_note"  # conversations.part_notes
    LEVEL1_DECISION = "level1_decision"
    # reading the answers and the result (conversations.review)
    REVIEW = "review"
    STATUS = "status"
    # part III and submission (conversations.narratives, conversations.submission)
    NARRATIVE = "narrative"
    CONFIRM_SUBMIT = "confirm_submit"
    # invites and the leader's approval (conversations.invites, conversations.approval)
    INVITE_ROLE = "invite_role"
    APPROVALS = "approvals"
    APPROVAL = "approval"
    RETURN_COMMENT = "return_comment"

    @classmethod
    def stored(cls, value: str) -> Mode:
        """The mode a chat's stored string names; the start screen for one no longer known."""
        try:
            return cls(value)
        except ValueError:
            return cls.START
