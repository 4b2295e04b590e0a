"""Running one part of the bench: a part that cannot be measured (no openssl, java or mvn, a server that
does not start, a command that times out) prints ONE line and is recorded in the run's errors; the other
parts still run. The bench exits 1 only when something is recorded here, never for a missed target."""

from __future__ import annotations


def one_line(error: object) -> str:
    """An error's text on one line (for the table and bench.json's errors)."""
    return " ".join(str(error).split()) or type(error).__name__


def run_part(errors: dict, name: str, function, *args):
    """`function(*args)`, announced; on an exception, or a figures dict with an "error" (a part that
    keeps what it saw, e.g. a command's exit code and output tail, but measured nothing), record and
    print ONE line. Returns the figures, or None after an exception."""
    print(f"{name} ...", flush=True)
    try:
        figures = function(*args)
    except Exception as error:  # noqa: BLE001 (one part failing must not stop the others)
        fail(errors, name, one_line(error))
        return None
    if isinstance(figures, dict) and figures.get("error"):
        fail(errors, name, figures["error"])
    return figures


def fail(errors: dict, name: str, line: str) -> None:
    errors[name] = line
    print(f"bench: {name} FAILED: {line}", flush=True)
