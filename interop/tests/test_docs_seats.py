"""Snippets checked at the same time (interop/docs/seats.py, schedule.py, faults.py): each on a stub of
its own, so that two snippets with the documentation's one key id never see each other's connections;
their own keys served per seat; fault runs on the seat's port; which snippets can be moved off 9009."""

from __future__ import annotations

import base64
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from server_stub.authdb import parse_auth_db

from interop.docs.clients import Prepared
from interop.docs.extract import extract_page
from interop.docs.faults import check_snippet_timeout, run_snippet_faults
from interop.docs.repeat import repeat
from interop.docs.runner import SnippetResult
from interop.docs.seats import DOCUMENTED_PORT, Seats, documented_port_is_free
from interop.docs.substitute import names_port
from interop.docs.timing import Clock
from interop.paths import AUTH_DB, DEFAULT_JWK
from interop.progress import RunProgress
from interop.robustness import FaultsError, load_faults
from interop.tests.test_docs_clients import GOOD_JS, REJECTED_PY, _docs, _entry, _page

# A client of the stub with the key of `jwk` (a file) as key id `kid`, one connection a run; `sign` false
# sends a signature that cannot be right (the stub rejects it).
CLIENT = '''
import base64, json, socket
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

jwk = json.loads(open({jwk!r}).read())
key = ec.derive_private_key(int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="), "big"), ec.SECP256R1())
with socket.create_connection(("127.0.0.1", {port}), timeout=5) as conn:
    conn.sendall({kid!r}.encode() + b"\\n")
    challenge = b""
    while not challenge.endswith(b"\\n"):
        challenge += conn.recv(1024)
    signature = key.sign(challenge[:-1], ec.ECDSA(hashes.SHA256())) if {sign!r} else b"\\x30" * 70
    conn.sendall(base64.b64encode(signature) + b"\\ndocs_check ok=true\\n")
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1024)
'''


def _client(folder, port: int, jwk=DEFAULT_JWK, kid: str = "testUser1", sign: bool = True) -> Prepared:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "snippet.py").write_text(textwrap.dedent(CLIENT).format(jwk=str(jwk), port=port, kid=kid, sign=sign))
    return Prepared([sys.executable, "snippet.py"], folder)


@pytest.fixture
def seats(tmp_path):
    seats = Seats(AUTH_DB, tmp_path / "tls", documented=False)
    yield seats
    seats.close()


@pytest.mark.timeout(120)
def test_two_snippets_at_once_each_see_only_their_own_connections(tmp_path, seats):
    good, bad = seats.own(tls=False), seats.own(tls=False)
    assert good.port != bad.port and good.stub is not bad.stub
    jobs = [(good, _client(tmp_path / "good", good.port)), (bad, _client(tmp_path / "bad", bad.port, sign=False))]
    with ThreadPoolExecutor(2) as pool:  # both repeat for 2 s at the same time, with the same key id
        passed, rejected = pool.map(lambda job: repeat("newest", job[1], job[0].stub, 2.0, []), jobs)
    assert (passed.verdict, passed.rejected, passed.handshakes) == ("PASS", 0, passed.runs), passed.detail
    assert (rejected.verdict, rejected.rejected, rejected.handshakes) == ("REJECTED", rejected.runs, rejected.runs), \
        rejected.detail
    assert passed.runs > 1 and rejected.runs > 1  # they did overlap: several runs each within the same 2 s


def _own_key(folder, kid: str):
    """A fresh key pair for `kid`: its JWK file (for the client) and its auth-file key (for the stub)."""
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.private_numbers()

    def b64(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    folder.mkdir(parents=True, exist_ok=True)
    jwk = folder / "key.jwk.json"
    x, y = b64(numbers.public_numbers.x), b64(numbers.public_numbers.y)
    jwk.write_text(f'{{"kty": "EC", "crv": "P-256", "kid": "{kid}", "d": "{b64(numbers.private_value)}", '
                   f'"x": "{x}", "y": "{y}"}}')
    return jwk, parse_auth_db(f"{kid} ec-p-256-sha256 {x} {y}\n", "<test>")


@pytest.mark.timeout(120)
def test_each_seat_serves_its_own_snippets_keys(tmp_path, seats):
    """Two snippets at once, each with a key of its own for the same kid ("admin"): each stub serves its
    snippet's key only (own_keys.py through RunningStub.extra_keys), so both pass; sharing one would fail one."""
    first, second = seats.own(tls=False), seats.own(tls=False)
    jobs = []
    for seat, name in ((first, "first"), (second, "second")):
        jwk, served = _own_key(tmp_path / name, "admin")
        jobs.append((seat, served, _client(tmp_path / name, seat.port, jwk=jwk, kid="admin")))

    def judged(job):
        seat, served, prepared = job
        with seat.lock, seat.stub.extra_keys(served, replace=True):
            return repeat("newest", prepared, seat.stub, 1.0, [])

    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(judged, jobs))
    assert [(v.verdict, v.rejected) for v in verdicts] == [("PASS", 0), ("PASS", 0)], [v.detail for v in verdicts]
    assert "admin" not in first.stub.keys  # served for the run only


@pytest.mark.timeout(120)
def test_a_seats_fault_runs_rebind_its_port_with_the_fault_and_its_keys(tmp_path, seats, capsys):
    seat = seats.own(tls=False)
    jwk, served = _own_key(tmp_path / "key", "admin")
    with seat.lock, seat.stub.extra_keys(served, replace=True):
        verdict = repeat("newest", _client(tmp_path / "snippet", seat.port, jwk=jwk, kid="admin"), seat.stub, 0, [])
    assert verdict.verdict == "PASS", verdict.detail
    verdict.seat, verdict.own_keys = seat, served
    seats.release(seat)
    spec = {"snippet_timeout": 10.0, "max_error_lines": 2,
            "fault": [{"name": "challenge-delayed", "column": "delayed", "auth_possible": True, "fault_delay": 0.3},
                      {"name": "close-after-challenge", "column": "close@chal.", "auth_possible": False}]}
    snippet = extract_page(_page(tmp_path, [("python", "", "print(1)")])).snippets[0]
    clock = Clock()
    with RunProgress(live=False) as progress:
        rows = run_snippet_faults("page.md", SnippetResult(snippet, [verdict]), spec, seats, clock, progress)
    assert [row.cells[:3] for row in rows] == [["page.md", "1", "newest"]]
    assert rows[0].outcomes[0] == "ok", rows[0].notes  # its own key served under the fault too, on its port
    assert rows[0].outcomes[1] != "STUB FAILED", rows[0].notes  # (this client's traceback makes it UNCLEAR)
    said = capsys.readouterr().out
    assert [f"under fault {name} (port {seat.port})" in said for name in ("challenge-delayed", "close-after-challenge")] \
        == [True, True], said
    assert clock.line().count("fault runs") == 1 and "(2 steps)" in clock.line()


def test_the_documented_port_is_rebound_for_faults_only_once_its_stub_retired(tmp_path):
    if not documented_port_is_free():
        pytest.skip(f"port {DOCUMENTED_PORT} is busy here")
    seats = Seats(AUTH_DB, tmp_path / "tls", documented=True)
    try:
        seat = seats.documented(tls=False)
        assert (seat.port, seat.own, seat.stub.port) == (DOCUMENTED_PORT, False, DOCUMENTED_PORT)
        fault = {"name": "no-challenge"}
        with pytest.raises(RuntimeError, match="before its stub was retired"), seats.fault_stub(seat, fault):
            pass
        seats.retire_documented()
        with seats.fault_stub(seat, fault) as stub:
            assert stub.port == DOCUMENTED_PORT and stub.events("listening")[0]["fault"] == "no-challenge"
    finally:
        seats.close()


def test_a_port_only_in_a_comment_cannot_be_moved():
    assert not names_port('func main() {\n\t// Connect to QuestDB running on 127.0.0.1:9009\n\tsend()\n}', "go")
    assert names_port('host := "127.0.0.1:9009"', "go")
    assert names_port('const url = "http://localhost:9009" // the port', "javascript")  # a URL's // is no comment
    assert names_port("PORT = 9009  # the ILP port", "python") and not names_port("# listens on 9009\nsend()", "python")
    assert not names_port("/* 9009 */ connect()", "java")


def test_the_snippet_timeout_stays_clear_of_every_faults_wait():
    spec = load_faults()
    check_snippet_timeout(spec)
    with pytest.raises(FaultsError, match=r"snippet_timeout = 20: less than twice the 15 s .* no-challenge"):
        check_snippet_timeout({**spec, "snippet_timeout": 20.0})


@pytest.mark.timeout(600)
def test_a_page_of_client_snippets_checked_at_once_keeps_them_apart(tmp_path):
    """The whole check: a Node snippet that passes and a Python one that is rejected, both written for
    9009 and checked at the same time, each on a stub and port of its own."""
    page = _page(tmp_path, [("", "NodeJS", GOOD_JS), ("python", "", REJECTED_PY)])
    s = extract_page(page).snippets
    expectations = tmp_path / "expect.toml"
    expectations.write_text('[[page]]\nname = "page.md"\n' + _entry(s[0], newest="PASS")
                            + _entry(s[1], newest="REJECTED", why="the placeholder kid is not substituted here"))
    proc = _docs(tmp_path, page, "--budget", "2", "--no-faults", "--expectations", str(expectations))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("docs: 2 passed, 0 failed, 0 skipped")
    moved = sorted(line.split("'9009' -> '")[1].split("'")[0] for line in proc.stdout.splitlines()
                   if "'9009' -> '" in line)
    assert len(moved) == 2 and moved[0] != moved[1], proc.stdout  # two ports, one per snippet
    runs = [line for line in proc.stdout.splitlines() if " runs in " in line]
    assert len(runs) == 2 and all("stopped on " in line for line in runs), proc.stdout
    assert any(", 0 rejected;" in line for line in runs), runs  # the Node one saw none of the other's rejections
    assert "docs: time: " in proc.stdout
