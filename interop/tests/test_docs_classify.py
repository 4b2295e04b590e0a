"""What the docs check does with each kind of block (interop/docs/classify.py, classify.toml), on small
blocks written here, one per construct of the classification."""

from __future__ import annotations

import pytest

from interop.docs.classify import classify, completed_code, elisions, looks_like_jwk, undefined_names
from interop.docs.extract import extract_text


def _kind(language: str, code: str, tab: str | None = None):
    page = extract_text(f"```{language}\n{code.strip()}\n```\n")
    return classify(page.snippets[0])


PY_TCP_AUTH = """
from questdb.ingress import Sender
conf = "tcp::addr=localhost:9009;username=testUser1;token=abc;token_x=x;token_y=y;"
with Sender.from_conf(conf) as sender:
    sender.row("trades", symbols={"s": "a"}, columns={"p": 1.0})
"""


def test_an_ilp_tcp_client_with_authentication_runs():
    kind = _kind("python", PY_TCP_AUTH)
    assert kind.kind == "client"
    assert kind.transport == "ILP/TCP"
    assert "'tcp::' at line 2" in kind.reason


@pytest.mark.parametrize(("scheme", "transport"), [("http", "ILP/HTTP"), ("https", "ILP/HTTP"),
                                                   ("ws", "QWP over WebSocket"), ("wss", "QWP over WebSocket")])
def test_other_transports_are_skipped_as_not_ilp_tcp(scheme, transport):
    kind = _kind("python", PY_TCP_AUTH.replace("tcp::", f"{scheme}::"))
    assert kind.kind == "skip"
    assert kind.reason.startswith(f"not ILP/TCP: {transport}")


def test_udp_is_not_ilp_tcp():
    kind = _kind("python", "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                           "s.sendto(b'trades p=1\\n', ('localhost', 9009))\n")
    assert (kind.kind, kind.transport) == ("skip", "ILP/UDP")


def test_a_client_without_authentication_is_skipped_with_its_transport():
    kind = _kind("javascript", 'const { Sender } = require("@questdb/nodejs-client")\n'
                               'const sender = Sender.fromConfig("tcp::addr=localhost:9009")\n')
    assert kind.kind == "skip"
    assert kind.reason.startswith("no authentication: ILP/TCP client")


def test_code_that_is_not_an_ilp_client_is_skipped():
    kind = _kind("python", "import psycopg\nwith psycopg.connect('host=localhost port=8812') as c:\n    pass\n")
    assert kind.kind == "skip" and kind.reason.startswith("not ILP/TCP")


@pytest.mark.parametrize("elision", ["...", "// ...", "# ...", "sender.row(...)"])
def test_an_excerpt_is_skipped(elision):
    code = 'const sender = Sender.fromConfig("tcp::addr=localhost:9009;username=u;token=t;")\n' + elision + "\n"
    kind = _kind("javascript", code)
    assert kind.kind == "skip"
    assert kind.reason.startswith("excerpt: line 2")


def test_an_excerpt_completed_by_the_pages_earlier_blocks_runs_with_them():
    page = extract_text("```python\nfrom questdb.ingress import Sender\n"
                        "conf = 'tcp::addr=localhost:9009;username=u;token=t;token_x=x;token_y=y;'\n```\n\n"
                        "```python\n# ...\nwith Sender.from_conf(conf) as sender:\n    sender.flush()\n```\n")
    first, excerpt = page.snippets
    kind = classify(excerpt, [first])
    assert kind.kind == "client"
    assert kind.completed_by == [first]
    code = completed_code(kind, excerpt)
    assert code.startswith("from questdb.ingress import Sender\n") and "# ..." not in code
    assert classify(excerpt, []).kind == "skip"  # alone, it stays an excerpt


def test_a_whole_program_with_an_undefined_name_is_run_not_called_an_excerpt():
    code = PY_TCP_AUTH.replace("from questdb.ingress import Sender\n", "")
    assert undefined_names(code) == {"Sender"}
    assert _kind("python", code).kind == "client"  # its NameError is then a real failure


def test_python_ellipsis_inside_a_literal_is_not_an_elision():
    assert elisions('print("wait...")\n') == []
    assert elisions("x = foo(...)\n") == ["line 1: x = foo(...)"]


def test_json_is_a_jwk_only_when_it_looks_like_one():
    assert looks_like_jwk('{"kty": "EC", "crv": "P-256"}')
    assert looks_like_jwk('{"d": "a", "x": "b", "y": "c"}')
    assert looks_like_jwk('"kty": "EC", "d": "a"')  # members without braces: checked (and refused) as a JWK
    assert not looks_like_jwk('{"columns": [{"name": "ts"}], "dataset": []}')
    assert _kind("json", '{"query": "select 1"}').kind == "skip"
    assert _kind("json", '{"kty": "EC"}').kind == "jwk"


@pytest.mark.parametrize(("language", "reason"), [("c", "C: not run"), ("cpp", "C++: not run"),
                                                  ("csharp", "C#: no .NET SDK on this kind of machine")])
def test_languages_that_are_not_run_say_why(language, reason):
    kind = _kind(language, 'sender = line_sender_from_conf("tcp::addr=localhost:9009;username=u;token=t;");')
    assert kind.kind == "skip" and kind.reason.startswith(reason)


def test_a_config_string_in_a_text_block_is_checked_as_one():
    assert _kind("text", "tcp::addr=localhost:9009;username=u;token=t;").kind == "config"
    assert _kind("bash", "export QDB_CLIENT_CONF='tcp::addr=localhost:9009;username=u;token=t;'").kind == "config"


def test_server_conf_lines_are_found_outside_ini_blocks():
    assert _kind("", "line.tcp.auth.db.path=conf/auth.txt\nline.tcp.enabled=true").kind == "server-conf"
    assert _kind("ini", "anything=1").kind == "server-conf"


def test_auth_file_lines_are_an_auth_file_in_any_non_client_block():
    line = "testUser1 ec-p-256-sha256 fLKYEaoEb9lrn3nkwLDA-M_xnuFOdSt9y0Z7_vWSHLU Dt5tbS1dEDMSYfym3fgMv0B99szno-dFc1rYF9t0aac"
    assert _kind("", line).kind == "auth-file"
    assert _kind("bash", line).kind == "auth-file"


def test_a_client_whose_config_comes_from_elsewhere_says_so():
    kind = _kind("python", "from questdb.ingress import Sender\nwith Sender.from_env() as sender:\n    sender.flush()\n")
    assert kind.kind == "skip"
    assert kind.reason.startswith("the transport is not in the code: it uses questdb.ingress")


def test_a_commented_out_config_string_is_an_aside_not_the_transport():
    code = ('// or "tcp::addr=localhost:9009;username=u;token=t;"\n'
            'try (Sender sender = Sender.fromConfig("http::addr=localhost:9000;")) {}\n')
    assert _kind("java", code).reason.startswith("not ILP/TCP: ILP/HTTP ('http::' at line 2)")


def test_a_fragment_using_a_sender_made_elsewhere_says_so():
    kind = _kind("python", "with Sender.from_conf(conf) as sender:\n    sender.flush()\n")
    assert kind.reason.startswith("the transport is not in the code: it uses Sender.from_conf")


def test_rustdoc_hidden_lines_are_code():
    code = ('# use questdb::ingress::Sender;\n# fn main() -> questdb::Result<()> {\n'
            'let mut sender = Sender::from_conf("tcp::addr=localhost:9009;username=u;token=t;token_x=x;token_y=y;")?;\n'
            '# Ok(())\n# }\n')
    assert _kind("rust", code).kind == "client"


def test_a_config_block_of_another_transport_gets_a_skipped_row_saying_so():
    from types import SimpleNamespace

    from interop.docs.runner import check_snippet

    snippet = extract_text("```text\nhttp::addr=localhost:9000;\n```\n").snippets[0]
    kind = classify(snippet)
    assert kind.kind == "config"
    verdicts = check_snippet(snippet, kind, {}, None, SimpleNamespace(key={"kid": "k", "d": "d"}))
    assert [(v.verdict, v.detail) for v in verdicts] == [("SKIPPED", "not ILP/TCP: the config string is http::")]


def test_a_fragment_using_a_sender_made_elsewhere_is_called_a_fragment():
    kind = _kind("go", 'err = sender.\n    Table("m").\n    Float64Column("x", 1).\n    AtNow(ctx)\n')
    assert kind.kind == "skip" and kind.reason.startswith("a fragment: it uses a sender made elsewhere")
