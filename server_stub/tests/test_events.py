"""The event log's encoding: one JSON object per line, whatever the values hold."""

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server_stub.events import EventLog, encode

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6))
def test_every_event_is_one_line_that_reads_back(event):
    line = encode(event)
    assert line.endswith(b"\n")
    text = line.decode("utf-8")
    assert text.splitlines() == [text[:-1]]  # no \n, \r, U+2028, U+2029, U+0085... inside
    assert json.loads(line) == event


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_breaks_are_escaped(brk):
    line = encode({"kid": f"a{brk}b", brk: 1})
    assert brk.encode() not in line
    assert f"\\u{ord(brk):04x}".encode() in line
    assert json.loads(line) == {"kid": f"a{brk}b", brk: 1}


def test_log_writes_lines_and_keeps_events_in_memory():
    written = io.BytesIO()
    log = EventLog(written, keep_in_memory=True)
    events = [{"event": "connect", "conn": 1}, {"event": "row", "conn": 1, "value": "é"}]
    for event in events:
        log.emit(event)
    log.flush()
    assert [json.loads(line) for line in written.getvalue().splitlines()] == events
    assert log.snapshot() == events
