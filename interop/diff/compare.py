"""Whether the stub predicted QuestDB's outcome for a case, and where not, in words."""

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
    for name in sorted(set(questdb["tables"]) | set(stub["tables"])):
        q, s = questdb["tables"].get(name), stub["tables"].get(name)
        if q is None or s is None:
            found.append(f"table {name}: {'only the stub' if q is None else 'only QuestDB'} has it "
                         f"({len((q or s)['rows'])} rows)")
            continue
        if q["schema"] != s["schema"]:
            found.append(f"table {name} columns: QuestDB {q['schema']}, stub {s['schema']}")
        if json.dumps(q["rows"], sort_keys=True) != json.dumps(s["rows"], sort_keys=True):  # true is not 1
            found.append(f"table {name} rows: QuestDB {q['rows']}, stub {s['rows']}")
    return found
