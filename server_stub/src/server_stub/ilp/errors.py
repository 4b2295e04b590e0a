"""The errors of the ILP reader."""

from __future__ import annotations


class IlpLineError(ValueError):
    """A malformed ILP line, or one the server refuses.

    The message says what is wrong and where; ``offset`` is the same position as a number (a
    character offset into the decoded line, or a byte offset: the message says which).
    ``deviation``, when set, names the stub's deliberate difference from QuestDB that made this an
    error (server_stub/PROTOCOL.md section 7): QuestDB would not have refused the line here.
    """

    def __init__(self, message: str, offset: int | None = None, deviation: str | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.deviation = deviation


class BadValue(Exception):
    """A value's text has no valid form; the caller adds where it was."""
