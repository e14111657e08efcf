"""Opaque button tokens: "<nonce>.<value>", checked against the chat's current question.

The nonce is random and changes whenever the chat moves to another question, so a button of an
old message is recognised as stale. A token never carries a unit or assessment id: the engine
reads those from the chat's stored state, never from what a client sends back.
"""

from __future__ import annotations

import secrets

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
SEPARATOR = "."


def new_nonce() -> str:
    """Six characters of the alphabet (32 letters: 5 random bits each), from one draw."""
    bits = secrets.randbits(30)
    return "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(0, 30, 5))


def make(nonce: str, value: str) -> str:
    """The token of choice `value` on the question identified by `nonce` (≤ 64 bytes)."""
    token = f"{nonce}{SEPARATOR}{value}"
    if len(token) > 16 and len(token.encode()) > 64:  # 16 characters are at most 64 bytes
        raise ValueError(f"token too long: {token!r}")
    return token


def split(token: str) -> tuple[str, str] | None:
    """(nonce, value), or None for anything that is not one of our tokens."""
    nonce, sep, value = token.partition(SEPARATOR)
    if not sep or not nonce or not value or len(token) > 64:
        return None
    return nonce, value
