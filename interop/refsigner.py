"""The reference signer: a case of negative_cases.toml played by the reference client.

Each case says how to deviate from a correct handshake; `handshake_of` maps its fields onto a
`server_stub.client.Handshake`, and `run_case` plays it on one connection and reports what the client
side saw on the wire. The verdict itself comes from the stub's events (judge.judge_case compares both with
the case's expectation).
"""

from __future__ import annotations

from dataclasses import dataclass

from server_stub.client import SILENCE, TIMEOUT, Handshake, Key, connect

TRUNCATED_KEY_ID_BYTES = 3  # truncate_key_id: what is sent of the key id before the close


@dataclass
class WireObservation:
    local_peer: str  # "127.0.0.1:51234", to find the stub's events for this connection
    challenge_received: bool
    closed_by_server: bool


def handshake_of(case: dict, ilp_lines: list[str]) -> Handshake:
    """A case of negative_cases.toml, as cases.load_cases gives it (every default filled in: the
    defaults are written once, in the schema), as a Handshake."""
    rows = "".join(line + "\n" for line in ilp_lines).encode()
    return Handshake(
        kid=case["kid"],
        key_id_end=case["key_id_end"].encode(),
        truncate_key_id=TRUNCATED_KEY_ID_BYTES if case["truncate_key_id"] else None,
        rows_before=rows if case["rows"] == "before" else b"",
        message=case["message"],
        form=case["signature"],
        base64=case["base64"],
        pad_to=case.get("pad_to"),  # optional: absent means no padding beyond base64's own
        line_end=case["signature_end"].encode(),
        rows=rows if case["rows"] == "after" else b"",
    )


def run_case(host: str, port: int, keys: dict, case: dict, ilp_lines: list[str], after=None) -> WireObservation:
    """Play one case. `after(sock)`, if given, runs on a connection the server left open."""
    how = handshake_of(case, ilp_lines)
    key = Key.from_jwk(keys[case["key"]])
    with connect(host, port, TIMEOUT) as conn:
        seen = conn.handshake(key, how)
        # Accepted handshakes get silence; rejected ones a close (EOF or reset).
        closed = seen.closed if seen.closed is not None else conn.server_closed(SILENCE)
        if not closed and after is not None and seen.signature_line is not None:
            after(conn.sock)
    return WireObservation(seen.local, seen.challenge is not None, closed)
