"""Turns a reason code and its details into the `reason` and `hint` texts of reasons.toml."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources


@cache
def catalogue() -> dict:
    """Every reason code with its templates, as written in reasons.toml."""
    return tomllib.loads(resources.files(__package__).joinpath("reasons.toml").read_text("utf-8"))


def explain(reason_code: str, details: dict) -> tuple[str, str]:
    """(reason, hint) for a rejection; a detected list of mistakes is folded into both."""
    entries = catalogue()
    entry = entries[reason_code]
    mistakes = details.get("mistakes") or []
    fields = dict(details)
    for mistake in mistakes:
        fields.update({k: v for k, v in mistake.items() if k != "code"})
    fields["also"] = "".join(
        "; also " + entries[m["code"]]["summary"].format(**fields) for m in mistakes[1:]
    )
    reason = entry["reason"].format(**fields)
    hint = _hint(entry, fields)
    extra_hints = [_hint(entries[m["code"]], fields) for m in mistakes[1:]]
    return reason, "; ".join([hint, *extra_hints])


@cache
def warnings() -> dict:
    """Every warning code with its template, as written in warnings.toml."""
    return tomllib.loads(resources.files(__package__).joinpath("warnings.toml").read_text("utf-8"))


def warning(warning_code: str, details: dict) -> str:
    """The `warning` text of an acceptance that only QuestDB's lenient verifier gives."""
    return warnings()[warning_code]["warning"].format(**details)


def real_server_note(reason_code: str) -> str | None:
    """How the real server's wire behaviour differs for this reason (None: it closes, as the stub does)."""
    return catalogue()[reason_code].get("real_server")


def _hint(entry: dict, fields: dict) -> str:
    for flag, text in entry.get("when", {}).items():
        if fields.get(flag):
            return text.format(**fields)
    return entry["hint"].format(**fields)
