"""faults.toml is data with rules (written at its top): the loader holds every rule, so that no
robustness column can turn into a race between a fault's delay and the example's ILP_TIMEOUT_S."""

from __future__ import annotations

import pytest
from server_stub.faults import FAULTS as STUB_FAULTS
from server_stub.faults import PARAMETERS

from interop.robustness import CONTRACT_DEFAULT_TIMEOUT_S, FAULTS, FaultsError, load_faults, longest_wait


def test_the_file_keeps_its_rules():
    spec = load_faults()
    assert spec["timeout"] >= CONTRACT_DEFAULT_TIMEOUT_S + 3
    assert all(longest_wait(f, spec) < CONTRACT_DEFAULT_TIMEOUT_S for f in spec["fault"])
    assert all(f.get("fault_delay", 0) <= spec["example_timeout"] / 2 for f in spec["fault"])
    assert {f["column"] for f in spec["fault"]} >= {"pieces", "delayed", "no chal."}


def test_every_fault_of_the_file_is_in_the_stubs_registry_with_only_the_parameters_it_declares():
    for fault in load_faults()["fault"]:
        assert fault["name"] in STUB_FAULTS, f"{fault['name']}: not in server_stub.faults.FAULTS"
        settings = {key for key in fault if key.startswith("fault_")}
        assert settings <= set(PARAMETERS), f"{fault['name']}: {sorted(settings - set(PARAMETERS))} are no parameters"
        assert settings <= set(STUB_FAULTS[fault["name"]].parameters), \
            f"{fault['name']}: sets {sorted(settings)} but declares {list(STUB_FAULTS[fault['name']].parameters)}"


def _edited(tmp_path, old: str, new: str):
    text = FAULTS.read_text("utf-8")
    assert old in text, old
    path = tmp_path / "faults.toml"
    path.write_text(text.replace(old, new, 1), "utf-8")
    return path


@pytest.mark.parametrize("old, new, message", [
    ("example_timeout = 6.0 ", "example_timeout = 1.5 ",
     r"fault 2 \(challenge-delayed\): fault_delay = 1.0: more than half of example_timeout \(1.5\)"),
    ("timeout = 30.0 ", "timeout = 12.0 ", r"at least the contract's default ILP_TIMEOUT_S \+ 3"),
    ("hang_slack = 2.0 ", "hang_slack = 3.0 ", r"fault 2 \(challenge-delayed\): the longest wait allowed \(10 s"),
    ('name = "no-challenge"', 'name = "no-chalenge"', r"fault 3 \(no-chalenge\): name: not a fault of the stub"),
    ('column = "pieces"', 'colum = "pieces"', r"unknown keys \['colum'\].*missing keys \['column'\]"),
    ("max_error_lines = 2", "max_error_line = 2", "unknown keys"),
])
def test_a_broken_rule_names_the_file_the_entry_and_the_key(tmp_path, old, new, message):
    path = _edited(tmp_path, old, new)
    with pytest.raises(FaultsError, match=message) as raised:
        load_faults(path)
    assert str(path) in str(raised.value)


def test_an_unset_fault_delay_is_checked_at_the_stubs_default(tmp_path):
    text = FAULTS.read_text("utf-8").replace("fault_delay = 1.0\n", "").replace("example_timeout = 6.0", "example_timeout = 3.5")
    path = tmp_path / "faults.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(FaultsError, match=r"fault_delay = 2.0: more than half of example_timeout \(3.5\)"):
        load_faults(path)


def test_a_connection_that_outlasts_its_bound_on_the_stubs_clock_hangs_however_the_process_ended():
    """The hang is judged at the stub (the close event's seconds), so a slow start-up is never one, and an
    example that waited its default 10 s for a challenge that never came is one even though it exited."""
    from server_stub.records import by_connection

    from interop.robustness import classify

    spec = load_faults()
    fault = next(f for f in spec["fault"] if f["name"] == "no-challenge")
    bound = longest_wait(fault, spec)

    def conns(seconds):
        return by_connection([{"event": "connect", "conn": 1, "peer": "127.0.0.1:1"},
                              {"event": "close", "conn": 1, "cause": "peer_closed", "rows": 0, "bytes": 10,
                               "seconds": seconds}])

    error = "ex: connection 1: reading the challenge: timed out after 6 s"
    assert classify(1, error, "run", conns(6.1), fault, 2, None, bound)[0] == "fails clearly"
    outcome, why = classify(1, error, "run", conns(10.0), fault, 2, None, bound)
    assert outcome == "hangs" and "lasted 10.0 s" in why
    assert classify(1, error, "run", conns(10.0), fault, 2, None)[0] == "fails clearly"  # no bound: snippets


def test_an_anti_example_rejected_for_its_own_defect_under_a_fault_survives_it():
    """go-wrong-unpadded-bytes drops a zero byte 1 time in 128: under a fault its one handshake may be
    rejected for that, and exit 0 (the server is silent). Measured once in 5 runs of the matrix."""
    from server_stub.records import by_connection

    from interop.robustness import classify

    spec = load_faults()
    fault = next(f for f in spec["fault"] if f["name"] == "challenge-delayed")
    conns = by_connection([{"event": "connect", "conn": 1, "peer": "127.0.0.1:1"},
                           {"event": "auth", "conn": 1, "kid": "k", "accepted": False, "encoding": "der",
                            "reason_code": "short_raw_signature", "reason": "r", "hint": "h"}])
    assert classify(0, "", "run", conns, fault, 2, None, defect="short_raw_signature")[0] == "survives"
    assert classify(0, "", "run", conns, fault, 2, None, defect="other")[0] == "misbehaves"
    assert classify(0, "", "run", conns, fault, 2, None)[0] == "misbehaves"
