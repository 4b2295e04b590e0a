"""Playing cases against both servers and judging the stub: the differential engine's core.

    with Servers(out_dir) as servers:
        results = servers.judge(cases)          # each case on QuestDB and the stub, disagreements replayed

QuestDB (interop/questdb/launcher.py) and the stub (in-process, judged on the wire: real sockets) get
the same cases; each case has its own table (c<id>) and probe row. A disagreement is played again,
under a fresh case id (a fresh table), before it is reported. A QuestDB that dies stops the run with
its log.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from server_stub.client import Key
from server_stub.records import by_connection
from server_stub.schema import create_sql

from server_stub import run_stub

from ..paths import AUTH_DB, DEFAULT_JWK
from ..questdb.launcher import QuestDBError, QuestDBProcess
from .case import PROBE_TABLE, Case, Script
from .compare import differences, verdict
from .observe import questdb_outcomes, settle, stub_outcomes
from .play import play_cases

WORKERS = 8  # connections at a time: far under QuestDB's ILP connection limit (QUESTDB_CONF)
BATCH = 250  # cases between two reads of QuestDB's tables; the tables are dropped after each read, since
# wal_tables(), which tells when ingestion has settled, slows down with the number of tables (10 s at 1,000)
REPLAY_ID_BASE = 1_000_000  # replays get ids from here on, so that their tables are new
# QuestDB 9.3.4 keeps every connection it leaves open (bad base64, a key id that is not UTF-8) until its
# idle timeout, 5 minutes, even after the client closed it; each counts against the ILP connection limit
# (256 by default), which a 10,000-case run exhausts (measured: "max connection limit reached" in its log).
QUESTDB_CONF = {"line.tcp.net.connection.limit": "4096"}


@dataclass
class Result:
    case: Case
    questdb: dict
    stub: dict
    differences: list[str]
    replay: list[str] | None = None  # the differences when played again (None: it agreed the first time)
    minimised: tuple[bytes, ...] | None = None  # the smallest lines that still disagree (ILP, --minimise)

    @property
    def verdict(self) -> str:
        """compare.verdict; "flaky" when the first play disagreed and the replay agreed (it fails the run:
        an outcome that changes between plays is a defect of the stub, of the engine or of the server)."""
        if self.differences and self.replay == []:
            return "flaky"
        return verdict(self.questdb, self.stub)

    def as_json(self) -> dict:
        return {"case": self.case.as_json(), "verdict": self.verdict, "questdb": self.questdb, "stub": self.stub,
                "differences": self.differences, "replay": self.replay}


class StubWatch:
    """The stub's events as they come, read for the player (play.Watch): which connection a local
    address is, and once the stub has decided on it: "closed" (its close event) or "open" (the case's
    probe row arrived)."""

    def __init__(self, log):
        self._log, self._read, self._lock = log, 0, threading.Lock()
        self._conn_of_peer: dict[str, int] = {}
        self._closed: set[int] = set()
        self._probed: dict[int, set[str]] = {}

    def _update(self) -> None:
        for event in self._log.since(self._read):
            self._read += 1
            kind, conn = event["event"], event.get("conn")
            if kind == "connect":
                self._conn_of_peer[event["peer"]] = conn  # the latest: a closed connection's port is reused
            elif kind == "close":
                self._closed.add(conn)
            elif kind == "row" and event["table"] == PROBE_TABLE:
                self._probed.setdefault(conn, set()).add(event["symbols"].get("probe", ""))

    def conn(self, local: str) -> int | None:
        with self._lock:
            self._update()
            return self._conn_of_peer.get(local)

    def verdict(self, case_id: int, conn: int) -> str | None:
        with self._lock:
            self._update()
            if conn in self._closed:
                return "closed"
            return "open" if f"c{case_id}" in self._probed.get(conn, ()) else None


class Servers:
    """QuestDB and the stub, started once for a run. With questdb=False only the stub (the replay of a
    recorded ground truth)."""

    def __init__(self, out_dir: Path, questdb: bool = True, workers: int = WORKERS):
        self.out_dir, self.workers = Path(out_dir), workers
        self.key = Key.load(DEFAULT_JWK)
        self.questdb = QuestDBProcess(AUTH_DB, self.out_dir / "questdb", extra_conf=QUESTDB_CONF) if questdb else None
        self.stub = run_stub(AUTH_DB, self.out_dir / "stub-events.jsonl")
        self._stub = None
        self.started_us = int(time.time() * 1_000_000)
        self._next_replay_id = REPLAY_ID_BASE

    def __enter__(self) -> Servers:  # noqa: PYI034 (self, started)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.questdb is not None:
            self.questdb.start()
        self._stub = self.stub.__enter__()
        self.watch = StubWatch(self._stub.log)
        return self

    def __exit__(self, *exc) -> None:
        self.stub.__exit__(*exc)
        if self.questdb is not None:
            self.questdb.stop(check=False)

    # --- playing ---------------------------------------------------------------------------------

    def on_questdb(self, cases: list[Case]) -> dict[int, dict]:
        self._check_alive()
        try:
            for table, columns in declared(cases).items():
                self.questdb.query(create_sql(table, columns))
            seen = play_cases(cases, self.questdb.host, self.questdb.ilp_port, self.key, self.workers)
            settle(self.questdb)
            outcomes = questdb_outcomes(self.questdb, cases, seen, self.started_us)
            self.questdb.query("drop all tables")
        except ConnectionRefusedError as error:
            self._check_alive()  # a server that died says so, with its log
            limit = "max connection limit reached" in self.questdb.log_text()
            raise QuestDBError(f"QuestDB refused a connection ({error})" + (
                f": its log says its ILP connection limit ({QUESTDB_CONF['line.tcp.net.connection.limit']}) was "
                "reached" if limit else "")) from error
        except (OSError, QuestDBError, TimeoutError):
            self._check_alive()
            raise
        return outcomes

    def on_stub(self, cases: list[Case]) -> dict[int, dict]:
        for table, columns in declared(cases).items():
            self._stub.tables.declare(table, columns)
        seen = play_cases(cases, self._stub.host, self._stub.port, self.key, self.workers, self.watch)
        return stub_outcomes(by_connection(self._stub.log.snapshot()), cases, seen)

    def judge(self, cases: list[Case], progress=print) -> list[Result]:
        """Every case on both servers, in batches; each disagreement played again under a fresh id."""
        results: list[Result] = []
        for start in range(0, len(cases), BATCH):
            batch = cases[start:start + BATCH]
            questdb, stub = self.on_questdb(batch), self.on_stub(batch)
            results += [Result(c, questdb[c.id], stub[c.id], differences(questdb[c.id], stub[c.id])) for c in batch]
            progress(f"diff: {len(results)}/{len(cases)} cases played, "
                     f"{sum(1 for r in results if r.differences)} disagreements so far")
        disagreeing = [r for r in results if r.differences]
        if disagreeing:
            again = {r.case.id: self.fresh(r.case) for r in disagreeing}
            replays = self.compare(list(again.values()))
            for r in disagreeing:
                r.replay = replays[again[r.case.id].id]
        return results

    def minimise(self, results: list[Result], limit: int) -> None:
        """For up to `limit` disagreeing one-line ILP cases (one per mutation), the shortest line that
        still disagrees: each round plays every line with one piece cut out (halves, then quarters, ...
        down to single characters) and keeps the shortest that disagrees again."""
        chosen, seen = [], set()
        for r in results:
            if r.verdict == "disagree" and r.case.kind == "ilp" and len(r.case.lines) == 1 \
                    and len(r.case.scripts) == 1 and r.case.mutation not in seen and len(chosen) < limit:
                seen.add(r.case.mutation)
                chosen.append(r)
        for r in chosen:
            head = b"c%d" % r.case.id  # the table name stays: the case's rows are found by it
            line = r.case.lines[0].rstrip(b"\n")
            if not line.startswith(head):
                continue
            rest = line[len(head):]
            size = max(1, len(rest) // 2)
            while size >= 1 and rest:
                candidates = sorted({rest[:i] + rest[i + size:] for i in range(0, len(rest), size)})
                cases = [(self.fresh(r.case, (head + c + b"\n",)), c) for c in candidates]
                questdb, stub = self.on_questdb([case for case, _ in cases]), self.on_stub([case for case, _ in cases])
                still = [c for case, c in cases if verdict(questdb[case.id], stub[case.id]) == "disagree"]
                if still:
                    rest = min(still, key=lambda c: (len(c), c))
                    size = min(size, max(1, len(rest) // 2))
                else:
                    size //= 2
            r.minimised = (head + rest + b"\n",)

    def compare(self, cases: list[Case]) -> dict[int, list[str]]:
        questdb, stub = self.on_questdb(cases), self.on_stub(cases)
        return {c.id: differences(questdb[c.id], stub[c.id]) for c in cases}

    def fresh(self, case: Case, lines: tuple[bytes, ...] | None = None) -> Case:
        """The case under a new id (its own new table and probe), optionally with other ILP lines."""
        self._next_replay_id += 1
        return renumber(case, self._next_replay_id, lines)

    def _check_alive(self) -> None:
        if self.questdb is not None and self.questdb.proc is not None and self.questdb.proc.poll() is not None:
            raise QuestDBError(f"QuestDB died mid-run (exit code {self.questdb.proc.returncode}); its log:\n"
                               + self.questdb.log_text()[-4000:])


def declared(cases: list[Case]) -> dict[str, dict[str, str]]:
    """The tables the cases declare, to be made on a server before they are played."""
    return {table: columns for case in cases for table, columns in case.schema.items()}


def renumber(case: Case, new_id: int, lines: tuple[bytes, ...] | None = None) -> Case:
    """The same case with its table and probe renamed to a new id; `lines` (ILP cases with one
    connection) replaces the lines under test."""
    name = re.compile(rb"(?<![0-9A-Za-z_])c%d(?![0-9])" % case.id)
    new = b"c%d" % new_id

    def rename(data: bytes) -> bytes:
        return name.sub(new, data)

    def rename_writes(writes: tuple[bytes, ...]) -> tuple[bytes, ...]:
        """The writes renamed as one stream, cut where they were (a name cut in two moves the cut past it)."""
        data = b"".join(writes)
        spans = [m.span() for m in name.finditer(data)]
        shift, cuts, at = len(new) - len(b"c%d" % case.id), [], 0
        for write in writes[:-1]:
            at += len(write)
            cut = next((end for start, end in spans if start < at < end), at)
            cuts.append(cut + shift * sum(1 for _, end in spans if end <= cut))
        renamed = rename(data)
        pieces = [renamed[a:b] for a, b in zip([0, *cuts], [*cuts, len(renamed)])]
        return tuple(p for p in pieces if p)

    scripts = tuple(replace(s, pipelined=rename(s.pipelined), after=rename_writes(s.after)) for s in case.scripts)
    kept = tuple(rename(line) for line in case.lines)
    if lines is not None:
        kept = tuple(rename(line) for line in lines)
        scripts = (*scripts[:-1], Script(after=(b"".join(kept), scripts[-1].after[-1])))
    schema = {name.sub(new, table.encode()).decode(): columns for table, columns in case.schema.items()}
    return replace(case, id=new_id, scripts=scripts, lines=kept, schema=schema)
