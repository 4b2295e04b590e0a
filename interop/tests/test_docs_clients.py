"""The docs check's client side: substitutions, dependency discovery, and whole synthetic pages run
against the stub (stdlib-only snippets, so no package download is needed)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from interop.datafile import DataFileError
from interop.docs import update
from interop.docs.clients import javascript_dependencies, key_line, python_distributions
from interop.docs.data import load_expectations
from interop.docs.extract import extract_page, extract_text
from interop.docs.repeat import Verdict
from interop.docs.report import counts, lines_for, summary_line
from interop.docs.runner import PageResult, SnippetResult
from interop.docs.substitute import substitute
from interop.paths import REPO

VALUES = {"kid": "testUser1", "d": "D", "x": "X", "y": "Y", "port": 4242, "tls_port": 4343, "tls_ca": "/ca.pem"}


def test_placeholders_and_tls_are_substituted_and_listed():
    code = 'auth = ("YOUR_KID", "YOUR_D_KEY")\nSender(HOST, 9009, auth=auth, tls = True)\n'
    changed, applied, tls = substitute(code, "python", VALUES, port_moved=False)
    assert changed == 'auth = ("testUser1", "D")\nSender(HOST, 4343, auth=auth, tls=\'/ca.pem\')\n'
    assert tls and len(applied) == 4 and any("TLS port" in a for a in applied)


@pytest.mark.parametrize(("language", "expected"), [
    ("python", "tcps::tls_roots=/ca.pem;addr=localhost:4343;"), ("javascript", "tcps::tls_ca=/ca.pem;addr=localhost:4343;"),
    ("go", "tcps::addr=localhost:4343;")])
def test_a_tcps_config_string_runs_against_the_tls_stub_trusting_its_ca(language, expected):
    changed, _applied, tls = substitute("tcps::addr=localhost:9009;", language, VALUES, port_moved=False)
    assert (changed, tls) == (expected, True)
    assert substitute("tcp::addr=localhost:9009;", language, VALUES, port_moved=False)[2] is False


def test_port_is_substituted_only_when_moved():
    changed, applied, _tls = substitute("addr := \"127.0.0.1:9009\"", "go", VALUES, port_moved=True)
    assert changed == 'addr := "127.0.0.1:4242"' and "a stub of its own" in applied[0]
    assert substitute("x 9009", "go", VALUES, port_moved=False)[0] == "x 9009"


def test_javascript_dependencies_skip_builtins():
    code = 'const {Socket} = require("net")\nconst x = require("node-webcrypto-ossl")\nimport y from "@scope/pkg/sub"\n'
    assert javascript_dependencies(code) == ["node-webcrypto-ossl", "@scope/pkg"]


def test_python_distributions_skip_stdlib():
    code = "import datetime, sys\nfrom questdb.ingress import Sender\nimport socket\n"
    assert python_distributions(code) == ["questdb"]


def test_key_line_picks_the_error():
    output = "npm warn deprecated x\nnpm error gyp ERR! stack Error: `make` failed with exit code: 2\nnpm error A complete log"
    assert "make` failed" in key_line(output)


# --- whole pages ----------------------------------------------------------------------------------

GOOD_JS = """
const net = require("net")
const { createPrivateKey, sign } = require("crypto")
const jwk = { kty: "EC", crv: "P-256", kid: "testUser1", d: "5UjEMuA0Pj5pjK8a-fa24dyIf-Es5mYny3oE_Wmus48",
  x: "fLKYEaoEb9lrn3nkwLDA-M_xnuFOdSt9y0Z7_vWSHLU", y: "Dt5tbS1dEDMSYfym3fgMv0B99szno-dFc1rYF9t0aac" }
const key = createPrivateKey({ key: jwk, format: "jwk" })
const socket = net.connect(9009, "127.0.0.1", () => socket.write("testUser1\\n"))
let data = Buffer.alloc(0)
socket.on("data", (chunk) => {
  data = Buffer.concat([data, chunk])
  if (data[data.length - 1] !== 10) return
  const signature = sign("sha256", data.subarray(0, data.length - 1), key).toString("base64")
  socket.end(`${signature}\\ndocs_check ok=true\\n`)
})
"""

REJECTED_PY = """
import socket
with socket.create_connection(("127.0.0.1", 9009), timeout=5) as s:
    s.sendall(b"YOUR_KID\\n")
    data = b""
    while not data.endswith(b"\\n"):
        data += s.recv(1024)
    s.sendall(b"AAAAA\\n")
"""


def _page(tmp_path, blocks: list[tuple[str, str, str]]) -> str:
    parts = ["---\ntitle: test page\n---\n"]
    for language, tab, code in blocks:
        fence = f"```{language}\n{textwrap.dedent(code).strip()}\n```\n"
        parts.append(f'<Tabs values={{[{{label: "{tab}", value: "t"}}]}}>\n<TabItem value="t">\n\n{fence}\n</TabItem>\n</Tabs>\n'
                     if tab else fence)
    page = tmp_path / "page.md"
    page.write_text("\n".join(parts))
    return str(page)


def _docs(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interop.docs", *args, "--build-dir", str(tmp_path / "build")],
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def _entry(snippet, **verdicts) -> str:
    """An expectations entry naming `snippet` by heading, language and digest."""
    lines = ["[[page.snippet]]", f"heading = {snippet.heading!r}", f"language = {snippet.language!r}",
             f"digest = {snippet.digest!r}", *(f"{k} = {v!r}" for k, v in verdicts.items())]
    return "\n".join(lines).replace("'", '"') + "\n"


@pytest.mark.timeout(600)
def test_a_page_of_runnable_snippets(tmp_path):
    page = _page(tmp_path, [("", "NodeJS", GOOD_JS), ("python", "", REJECTED_PY),
                            ("ini", "", "line.tcp.auth.db.path=conf/auth.txt"), ("text", "", "hello")])
    s = extract_page(page).snippets
    expectations = tmp_path / "expect.toml"
    expectations.write_text('[[page]]\nname = "page.md"\n' + _entry(s[0], newest="PASS")
                            + _entry(s[1], newest="REJECTED", why="the placeholder kid is not substituted here")
                            + _entry(s[2], check="PASS"))
    proc = _docs(tmp_path, page, "--budget", "2", "--expectations", str(expectations))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("docs: 3 passed, 0 failed, 1 skipped")
    assert "base64_invalid_length" in proc.stdout  # the stub's reason, next to the REJECTED verdict
    assert "'YOUR_KID' -> 'testUser1'" in proc.stdout  # the substitution is listed
    report = (tmp_path / "build" / "docs" / "report.md").read_text()
    assert "| page.md | 1 | javascript | NodeJS | newest | PASS |" in report
    assert "| page.md | 4 | text |  | check | SKIPPED |  | out of scope: no check for text code blocks |" in report


@pytest.mark.timeout(600)
def test_a_verdict_that_differs_from_its_expectation_fails_the_run(tmp_path):
    page = _page(tmp_path, [("python", "", REJECTED_PY)])
    expectations = tmp_path / "expect.toml"
    expectations.write_text('[[page]]\nname = "page.md"\n' + _entry(extract_page(page).snippets[0], newest="PASS"))
    proc = _docs(tmp_path, page, "--budget", "0", "--expectations", str(expectations))
    assert proc.returncode == 1
    assert "EXPECTED PASS" in proc.stdout and proc.stdout.rstrip().endswith("docs: 0 passed, 1 failed, 0 skipped")


@pytest.mark.timeout(600)
def test_a_failing_snippet_without_an_expectation_fails_the_run(tmp_path):
    page = _page(tmp_path, [("python", "", REJECTED_PY), ("text", "", "hello")])
    proc = _docs(tmp_path, page, "--budget", "0", "--expectations", str(tmp_path / "none.toml"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILS: no expectation" in proc.stdout
    assert proc.stdout.rstrip().endswith("docs: 0 passed, 1 failed, 1 skipped")


@pytest.mark.timeout(600)
def test_update_expectations_round_trips(tmp_path):
    page = _page(tmp_path, [("python", "", REJECTED_PY), ("ini", "", "line.tcp.auth.db.path=conf/auth.txt"),
                            ("text", "", "hello")])
    expectations = tmp_path / "expect.toml"
    proc = _docs(tmp_path, page, "--budget", "0", "--expectations", str(expectations), "--update-expectations")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("docs: 2 passed, 0 failed, 1 skipped")
    assert "write the why of page.md #1" in proc.stdout
    written = load_expectations(expectations)["page.md"]["snippets"]
    assert sorted(v.get("newest") or v.get("check") for v in written.values()) == ["PASS", "REJECTED", "SKIPPED"]
    # the maintainer writes the why; a second update keeps it and changes nothing else
    text = expectations.read_text()
    reviewed = re.sub(r'why = "TO REVIEW[^\n]*', 'why = "the page forgot to say which kid to use"', text)
    expectations.write_text(reviewed)
    proc = _docs(tmp_path, page, "--budget", "0", "--expectations", str(expectations), "--update-expectations")
    assert proc.returncode == 0 and "write the why" not in proc.stdout, proc.stdout + proc.stderr
    assert expectations.read_text() == reviewed
    # and a plain run against the written file passes
    proc = _docs(tmp_path, page, "--budget", "0", "--expectations", str(expectations))
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("docs: 2 passed, 0 failed, 1 skipped")


def test_a_page_without_fences(tmp_path):
    page = tmp_path / "scraped.txt"
    page.write_text("Authenticate\nconst x = 1\nfunction f() {\n")
    proc = _docs(tmp_path, str(page), "--budget", "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no runnable snippet" in proc.stdout and "scraped" in proc.stdout
    assert proc.stdout.rstrip().endswith("docs: 0 passed, 0 failed, 1 skipped")


# --- verdicts against expectations, without running anything ----------------------------------------------

def _results(text: str, verdicts: list[str]) -> list[PageResult]:
    page = extract_text(text, "page.md")
    return [PageResult(page, [SnippetResult(s, [Verdict("check" if v == "SKIPPED" else "newest", v, "why not")])
                              for s, v in zip(page.snippets, verdicts, strict=True)])]


PAGE = "# Install\n```sh\nbrew install jose\n```\n## Client\n```python\nbroken()\n```\n```go\npackage x\n```\n"


def test_skipped_blocks_count_apart_and_failures_need_an_expectation():
    lines = lines_for(_results(PAGE, ["SKIPPED", "FAILS TO RUN", "PASS"]), {})
    assert [ln.status for ln in lines] == ["skipped", "failed", "passed"]
    assert summary_line(lines) == "docs: 1 passed, 1 failed, 1 skipped"
    assert lines[1].judged == "FAILS: no expectation"


def test_expectations_follow_a_snippet_when_a_block_is_inserted_above(tmp_path):
    results = _results(PAGE, ["SKIPPED", "FAILS TO RUN", "PASS"])
    file = tmp_path / "expect.toml"
    review = update.write(file, results, {})
    assert review == ["page.md #2 under 'Client': FAILS TO RUN"]
    expectations = load_expectations(file)
    assert counts(lines_for(results, expectations)) == {"passed": 2, "failed": 0, "skipped": 1}
    inserted = PAGE.replace("## Client\n", "## Client\n```js\nnew()\n```\n")
    lines = lines_for(_results(inserted, ["SKIPPED", "PASS", "FAILS TO RUN", "PASS"]), expectations)
    assert [(ln.index, ln.status, ln.judged) for ln in lines] == [
        (1, "skipped", "ok"), (2, "passed", ""), (3, "passed", "ok"), (4, "passed", "ok")]
    # an expected failure that now passes fails the run (a fix is never silent), and so does a stale entry
    fixed = lines_for(_results(PAGE.replace("broken()", "fixed()"), ["SKIPPED", "PASS", "PASS"]), expectations)
    assert next((ln.verdict, ln.status) for ln in fixed) == ("(no such snippet)", "failed")
    assert lines_for(_results(PAGE, ["SKIPPED", "PASS", "PASS"]), expectations)[1].judged == "EXPECTED FAILS TO RUN"


def test_an_expected_failure_needs_a_why_and_a_snippet_is_named_once(tmp_path):
    file = tmp_path / "expect.toml"
    entry = '[[page.snippet]]\nheading = "A"\nlanguage = "go"\ndigest = "0123456789ab"\nnewest = "FLAKY"\n'
    file.write_text('[[page]]\nname = "p.md"\n' + entry)
    with pytest.raises(DataFileError, match=r"p\.md\): snippet 1 \(A\): newest = 'FLAKY' is an expected failure"):
        load_expectations(file)
    file.write_text('[[page]]\nname = "p.md"\n' + entry + 'why = "w"\n' + entry + 'why = "w"\n')
    with pytest.raises(DataFileError, match="snippet 2 \\(A\\): the same heading, language, digest"):
        load_expectations(file)


def test_a_go_major_version_suffix_is_another_module():
    from interop.docs.clients.go import _in_module

    module = "github.com/questdb/go-questdb-client"
    assert _in_module(module + "/pkg", module)
    assert not _in_module(module + "/v4", module)  # the v1 pin must not serve a /v4 import
    assert _in_module(module + "/v4/internal", module + "/v4")


def test_protocol_tcps_asks_for_tls_and_gets_the_stubs_ca_as_a_keyword():
    code = "sender = Sender(\n    Protocol.Tcps,\n    'localhost',\n    9009,\n    username='u',\n)\n"
    values = {"kid": "k", "d": "d", "x": "x", "y": "y", "port": 1, "tls_port": 2, "tls_ca": "/ca.pem",
              "java_truststore": "", "java_truststore_password": ""}
    changed, _, tls = substitute(code, "python", values, port_moved=False)
    assert tls
    assert "username='u', tls_roots='/ca.pem'\n)" in changed
    assert "9009" not in changed and "2," in changed  # the TLS stub's port
    compile(changed, "<snippet>", "exec")  # still Python


def test_java_tcps_trusts_the_stub_through_a_truststore():
    values = {"kid": "k", "d": "d", "x": "x", "y": "y", "port": 1, "tls_port": 2, "tls_ca": "/ca.pem",
              "java_truststore": "/store.p12", "java_truststore_password": "pw"}
    changed, _, tls = substitute('Sender.fromConfig("tcps::addr=localhost:9009;")', "java", values, False)
    assert tls and "tcps::tls_roots=/store.p12;tls_roots_password=pw;addr=localhost:2;" in changed
