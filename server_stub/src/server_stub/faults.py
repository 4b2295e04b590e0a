"""Faults the stub injects on purpose (serve --fault NAME), to see how a client copes.

A fault is a layer between the adapter and the machine (machine.py): the same inputs, passed on to
the machine, and the actions that come back transformed: the challenge sent in pieces, late, never,
with bytes after it, or followed by a close. The machine underneath stays the faithful server: no
fault changes whether a handshake is accepted, and a layer writes no event of its own. The two faults
that end a connection early do it through the machine (Machine.close, Machine.close_after_rows), so
that its auth and close events, and their counts, stay the machine's.

A layer adds to the machine's events what only it knows, two client mistakes a fault provokes:
- bytes_before_challenge: while a layer holds the challenge back (delayed, in pieces, not at all),
  every byte received counts; the auth event that judges a signature line carries the count;
- signed_bytes_after_challenge: extra-after-challenge knows the bytes it added, and when a signature
  does not verify it tries the challenge followed by them (signature.reconsider over the verdict).

FAULTS is the one registry (name, description, parameters). The serve options come from it
(cli.py), and tests hold README.md's fault paragraph and interop/faults.toml against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import signature
from .machine import Action, Close, Emit, Machine, Send, State, Wake

PIECE_GAP = 0.001  # seconds between the pieces of challenge-in-pieces
EXTRA_AFTER_CHALLENGE = b"unexpected bytes after the challenge\n"


@dataclass(frozen=True)
class Parameter:
    """A setting of the faults that use it: a StubConfig field, and the serve option --NAME-WITH-DASHES."""

    name: str
    type: type
    default: float
    metavar: str
    unit: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


PARAMETERS = {p.name: p for p in (
    Parameter("fault_delay", float, 2.0, "S", "seconds"),
    Parameter("fault_rows", int, 1, "N", "rows"),
)}


class Layer:
    """A machine seen through a fault. This base class passes everything through unchanged; a fault
    overrides challenge() (what to send instead of the challenge) and due() (what to do at its own
    Wake time, `self.wake_at`)."""

    def __init__(self, machine: Machine, fault: Fault, parameters: dict):
        self.machine = machine
        self.fault = fault
        self.parameters = parameters
        self.wake_at: float | None = None  # when due() is next to run
        self.withholding = False  # the challenge is not all out: what arrives now comes before it
        self.bytes_before_challenge = 0
        self._machine_wake: float | None = None
        self._woken: float | None = None  # the last Wake passed on

    # the machine's inputs, through the layer

    def start(self, now: float, peer: str | None) -> list[Action]:
        return self._finish(self._through(self.machine.start(now, peer), now))

    def receive(self, data: bytes, now: float) -> list[Action]:
        if self.withholding:
            self.bytes_before_challenge += len(data)
        return self._finish(self._through(self.machine.receive(data), now))

    def tick(self, now: float) -> list[Action]:
        actions = []
        if self.wake_at is not None and now >= self.wake_at:
            self.wake_at = None
            actions += self.due(now)
        return self._finish(actions + self._through(self.machine.tick(now), now))

    def peer_closed(self) -> list[Action]:
        return self._finish(self._through(self.machine.peer_closed(), None))

    def stop(self) -> list[Action]:
        return self._finish(self._through(self.machine.stop(), None))

    # what a fault overrides

    def challenge(self, data: bytes, now: float) -> list[Action]:
        """The machine sends the challenge (and its \\n) now: what goes out instead."""
        return [Send(data)]

    def due(self, now: float) -> list[Action]:
        """wake_at has come."""
        return []

    # the plumbing

    def _through(self, actions, now: float | None) -> list[Action]:
        out = []
        for action in actions:
            kind = type(action)
            if kind is Send:  # the machine sends nothing but the challenge
                out += self.challenge(action.data, now)
            elif kind is Wake:
                self._machine_wake = action.at
            else:
                if kind is Emit and self.bytes_before_challenge and self._judges_a_signature(action.event):
                    action.event["bytes_before_challenge"] = self.bytes_before_challenge
                out.append(action)
        return out

    @staticmethod
    def _judges_a_signature(event: dict) -> bool:
        return event["event"] == "auth" and event["signature_b64_chars"] is not None

    def _finish(self, actions: list[Action]) -> list[Action]:
        """One Wake for the earlier of the machine's deadline and the layer's own, when it changed;
        none once the connection is closed."""
        if self.machine.state is State.CLOSED:
            self.wake_at = None
        wake = min((at for at in (self._machine_wake, self.wake_at) if at is not None), default=None)
        if wake != self._woken:
            self._woken = wake
            closing = bool(actions) and type(actions[-1]) is Close  # nothing comes after a Close
            actions.insert(len(actions) - closing, Wake(wake))
        return actions


class ChallengeInPieces(Layer):
    def challenge(self, data, now):
        self.rest, self.withholding = data, True
        return self.due(now)

    def due(self, now):
        """One byte, the next PIECE_GAP later: each piece at its own tick, so no loop merges two writes."""
        if self.machine.state is not State.SIGNATURE:
            return []
        piece, self.rest = self.rest[:1], self.rest[1:]
        if self.rest:
            self.wake_at = now + PIECE_GAP
        else:
            self.withholding = False
        return [Send(piece)]


class ChallengeDelayed(Layer):
    def challenge(self, data, now):
        self.held, self.withholding = data, True
        self.wake_at = now + self.parameters["fault_delay"]
        return []

    def due(self, now):
        self.withholding = False
        return [Send(self.held)] if self.machine.state is State.SIGNATURE else []


class NoChallenge(Layer):
    def challenge(self, data, now):
        self.withholding = True
        return []


class ExtraAfterChallenge(Layer):
    def __init__(self, machine, fault, parameters):
        super().__init__(machine, fault, parameters)
        self._judge, machine.judge = machine.judge, self.judge

    def challenge(self, data, now):
        return [Send(data + EXTRA_AFTER_CHALLENGE)]

    def judge(self, kid, challenge, line, keys, diagnose_max_keys):
        """The machine's verdict; a mismatch that verifies over the challenge, its \\n and the extra
        bytes (without their \\n: what a client that signs all it received signs) is named."""
        verdict = self._judge(kid, challenge, line, keys, diagnose_max_keys)
        signed = challenge + b"\n" + EXTRA_AFTER_CHALLENGE.rstrip(b"\n")
        return signature.reconsider(verdict, line, keys, [("signed_bytes_after_challenge", signed)], diagnose_max_keys)


class CloseAfterChallenge(Layer):
    def challenge(self, data, now):
        closing = self.machine.close("fault", "fault_closed", {"fault": self.fault.name})
        return [Send(data), *self._through(closing, now)]


class CloseAfterRows(Layer):
    def __init__(self, machine, fault, parameters):
        super().__init__(machine, fault, parameters)
        machine.close_after_rows(parameters["fault_rows"], "fault")


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    layer: type[Layer]
    parameters: tuple[str, ...] = ()  # keys of PARAMETERS


FAULTS = {f.name: f for f in (
    Fault("challenge-in-pieces", "send the 513 challenge bytes one by one, 1 ms apart", ChallengeInPieces),
    Fault("challenge-delayed", "send the challenge only after --fault-delay seconds", ChallengeDelayed,
          ("fault_delay",)),
    Fault("no-challenge", "never send the challenge", NoChallenge),
    Fault("extra-after-challenge", "send bytes after the challenge's newline", ExtraAfterChallenge),
    Fault("close-after-challenge", "close the connection right after sending the challenge", CloseAfterChallenge),
    Fault("close-after-rows", "close the connection after --fault-rows rows", CloseAfterRows, ("fault_rows",)),
)}


def get(name: str) -> Fault:
    """The fault of that name (ValueError naming the known ones otherwise)."""
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    return FAULTS[name]


def inject(name: str, machine: Machine, config) -> Layer:
    """The machine seen through the fault `name`, its parameters read from config (a StubConfig)."""
    fault = get(name)
    return fault.layer(machine, fault, {p: getattr(config, p) for p in fault.parameters})
