"""Whether the stub predicted QuestDB's outcome for a case, and where not, in words.

A case whose differences come with one of the stub's deliberate deviations (its outcome's
`deviations`: a limit the stub sets lower than the server's, server_stub/PROTOCOL.md section 7) is a
deviation, not a disagreement."""

from __future__ import annotations

import json


def differences(questdb: dict, stub: dict) -> list[str]:
    """Empty when the stub's prediction (observe.stub_outcomes) is QuestDB's outcome."""
    found = []
    if len(questdb["conns"]) != len(stub["conns"]):
        found.append(f"connections: QuestDB {len(questdb['conns'])}, stub {len(stub['conns'])}")
    for i, (q, s) in enumerate(zip(questdb["conns"], stub["conns"], strict=False), 1):
        for key in ("challenge", "closed"):
            if q[key] != s[key]:
                found.append(f"connection {i} {key}: QuestDB {q[key]}, stub {s[key]}")
    if questdb["alive"] != stub["alive"]:
        found.append(f"probe rows: QuestDB {questdb['alive']}, stub {stub['alive']}")
    # A table without rows is not compared: QuestDB creates the table of a row it then refuses, and
    # the stub records rows, not tables (server_stub/PROTOCOL.md section 7).
    q_tables = {name: t for name, t in questdb["tables"].items() if t["rows"]}
    s_tables = {name: t for name, t in stub["tables"].items() if t["rows"]}
    for name in sorted(set(q_tables) | set(s_tables)):
        q, s = q_tables.get(name), s_tables.get(name)
        if q is None or s is None:
            found.append(f"table {name}: {'only the stub' if q is None else 'only QuestDB'} has it "
                         f"({len((q or s)['rows'])} rows)")
            continue
        # A column QuestDB made for a row it then refused has no value in any row and no place in the
        # stub's rows: it is left out, like an empty table (server_stub/PROTOCOL.md section 7).
        filled = {column for row in q["rows"] for column in row}
        q_schema = {column: kind for column, kind in q["schema"].items() if column in filled or column in s["schema"]}
        if q_schema != s["schema"]:
            found.append(f"table {name} columns: QuestDB {q_schema}, stub {s['schema']}")
        if json.dumps(q["rows"], sort_keys=True) != json.dumps(s["rows"], sort_keys=True):  # true is not 1
            found.append(f"table {name} rows: QuestDB {q['rows']}, stub {s['rows']}")
    return found


def verdict(questdb: dict, stub: dict) -> str:
    """"agree", "deviation" or "disagree". A deviation excuses only what it explains: the close of the
    connection it happened on, and what that connection would have stored (probe and table rows)."""
    found = differences(questdb, stub)
    if not found:
        return "agree"
    deviating = {d["connection"] for d in stub.get("deviations", [])}
    explained = ("probe rows", "table ", *(f"connection {n} closed" for n in deviating))
    return "deviation" if deviating and all(f.startswith(explained) for f in found) else "disagree"
