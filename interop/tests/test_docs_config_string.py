"""The config-string check (docs/checks/config_string.py) on snippets written here: finding the strings in
each language (and resolving what the snippet itself assigns), each client's rules from config_rules.toml,
the key pair, the verdicts and the literal keys the runner adds to the stub's auth file."""

from __future__ import annotations

import pytest
from server_stub.keys import auth_line, generate_jwk

from interop.datafile import DataFileError
from interop.docs.checks.config_string import (
    HOLE,
    check_config_strings,
    clients_for,
    find_config_strings,
    literal_auth_db,
    literal_keys,
    parse_config,
)
from interop.docs.data import CONFIG_RULES_FILE, config_rules


@pytest.fixture(scope="module")
def test_key() -> dict:
    return generate_jwk("testUser1")


@pytest.fixture(scope="module")
def other() -> dict:
    return generate_jwk("alice")


def full(key: dict, addr: str = "localhost:9009") -> str:
    return f"tcp::addr={addr};username={key['kid']};token={key['d']};token_x={key['x']};token_y={key['y']};"


def short(key: dict) -> str:
    return f"tcp::addr=localhost:9009;username={key['kid']};token={key['d']};"


# --- finding the strings -------------------------------------------------------------------------------------

def test_python_literal_and_fstring_from_the_snippets_assignment(other):
    code = (f'from questdb.ingress import Sender\nkid = "{other["kid"]}"\n'
            f'# tcp::addr=in-a-comment:1;\n'
            f'conf = f"tcp::addr=localhost:9009;username={{kid}};token={other["d"]};"\n'
            'with Sender.from_conf(conf) as sender:\n    pass\n')
    [found] = find_config_strings(code, "python")
    assert found.text == f"tcp::addr=localhost:9009;username=alice;token={other['d']};"
    assert found.line == 4 and "f-string" in found.how and not found.unresolved


def test_an_unresolved_part_is_a_hole_never_literal_text():
    code = 'conf = f"tcp::addr={host}:9009;username={os.environ[\'KID\']};token={tok};"'
    [found] = find_config_strings(code, "python")
    assert found.unresolved == ["host", "os.environ['KID']", "tok"]
    assert HOLE + "host" + HOLE in found.raw
    assert found.text == "tcp::addr={?host}:9009;username={?os.environ['KID']};token={?tok};"
    parsed = parse_config(found.raw, "node")
    assert parsed.accepted and parsed.keys["addr"].startswith(HOLE)  # an unresolved value is not judged


def test_python_adjacent_literals_and_typescript_annotations():
    [found] = find_config_strings('conf = ("tcp::addr=localhost:9009;"\n        "username=erin;")\n', "python")
    assert found.text == "tcp::addr=localhost:9009;username=erin;" and "concatenation" in found.how
    code = 'const host: string = "db";\nconst s = await Sender.fromConfig(`tcp::addr=${host}:9009;`);\n'
    [found] = find_config_strings(code, "typescript")
    assert found.text == "tcp::addr=db:9009;" and not found.unresolved


def test_an_unresolved_part_is_opaque_even_with_semicolons_inside():
    code = 'conf = f"tcps::addr=db:9009;tls_roots={ca.replace(\';\', \';;\')};"\n'
    [found] = find_config_strings(code, "python")
    parsed = parse_config(found.raw, "python")
    assert parsed.accepted and [key for key, _ in parsed.pairs] == ["addr", "tls_roots"]


def test_a_conditional_branch_is_a_prefix_completed_elsewhere(test_key):
    code = ('const transport = ca === null ? "tcp::" : `tcps::tls_ca=${ca};`;\n'
            'const config = `${transport}addr=${host}:9009;`;\n')
    [found] = find_config_strings(code, "javascript")
    assert found.text.startswith("tcps::tls_ca={?ca};{?the rest") and "conditional" in found.how
    assert check_config_strings(code, "javascript", test_key).verdict == "PASS"  # addr may be in the rest


def test_a_scheme_alone_or_in_prose_is_no_config_string():
    code = 'if conf.startswith("tcp::"):\n    """Over tcp:: (no TLS) the key travels in clear; see tcp::addr=h:1; too."""\n'
    [found] = find_config_strings(code, "python")
    assert found.text == "tcp::addr=h:1;"  # cut at the space that ends it inside the sentence


def test_javascript_template_literal_and_concatenation():
    code = ('const CLIENT_ID = "alice";\nconst host = "db.example";\n'
            'const a = await Sender.fromConfig(`tcp::addr=localhost:9009;username=${CLIENT_ID};token=${TOKEN};`);\n'
            'const b = await Sender.fromConfig("tcps::addr=" + host + ":9009;");\n')
    first, second = find_config_strings(code, "javascript")
    assert first.text == "tcp::addr=localhost:9009;username=alice;token={?TOKEN};" and first.unresolved == ["TOKEN"]
    assert (second.text, second.line, second.how) == ("tcps::addr=db.example:9009;", 4,
                                                       "string literal, names from the snippet's assignments, concatenation")


def test_go_sprintf_and_raw_string():
    code = ('addr := "localhost:9009"\n'
            'sender, err := qdb.LineSenderFromConf(ctx, fmt.Sprintf("tcp::addr=%s;username=%s;token=%s;", addr, "bob", key))\n'
            'other := `tcps::addr=localhost:9009;`\n')
    first, second = find_config_strings(code, "go")
    assert first.text == "tcp::addr=localhost:9009;username=bob;token={?key};" and "fmt.Sprintf" in first.how
    assert second.text == "tcps::addr=localhost:9009;" and second.how == "raw string"


def test_rust_format_with_positional_named_and_captured_arguments():
    code = ('let kid = "carol";\n'
            'let sender = Sender::from_conf(format!("tcp::addr={}:{port};username={kid};", host, port = 9009))?;\n')
    [found] = find_config_strings(code, "rust")
    assert found.text == "tcp::addr={?host}:9009;username=carol;" and found.unresolved == ["host"]


def test_java_string_format_and_concatenation():
    code = ('String token = "abc";\n'
            'try (Sender s = Sender.fromConfig("tcp::addr=localhost:9009;" + "username=dave;token=" + token + ";")) {}\n'
            'Sender t = Sender.fromConfig(String.format("tcp::addr=%s:%d;", host, 9009));\n')
    first, second = find_config_strings(code, "java")
    assert first.text == "tcp::addr=localhost:9009;username=dave;token=abc;"
    assert second.text == "tcp::addr={?host}:9009;" and "String.format" in second.how


def test_plain_text_lines_with_shell_variables_and_classification():
    code = "Set QDB_CLIENT_CONF to tcp::addr=localhost:9009; or http::addr=localhost:9000;\n" \
           'export QDB_CLIENT_CONF="tcp::addr=${HOST}:9009;username=$KID;"\n'
    found = find_config_strings(code, "")
    assert [(f.scheme, f.line, f.how) for f in found] == [("tcp", 1, "plain text"), ("http", 1, "plain text"),
                                                          ("tcp", 2, "plain text")]
    assert found[2].unresolved == ["$HOST", "$KID"]


# --- one client's rules ------------------------------------------------------------------------------------

def test_unknown_keys_refused_by_node_and_go_ignored_by_python_rust_java():
    text = "tcp::addr=localhost:9009;colour=blue;"
    assert not parse_config(text, "node").accepted and not parse_config(text, "go").accepted
    assert "Unknown configuration key: 'colour'" in parse_config(text, "node").problems[0]
    for client in ("python", "rust", "java"):
        parsed = parse_config(text, client)
        assert parsed.accepted and any("ignores it" in w for w in parsed.warnings)


def test_duplicates_each_clients_way():
    text = "tcp::addr=a:1;addr=b:2;"
    assert "duplicate key" in parse_config(text, "python").problems[0]
    assert parse_config(text, "node").accepted and parse_config(text, "node").keys["addr"] == "b:2"
    assert "duplicated addresses" in parse_config(text, "java").problems[0]  # one address over TCP
    twice = "tcps::addr=a:1;tls_verify=on;tls_verify=unsafe_off;"
    assert "tls_verify was already configured" in parse_config(twice, "java").problems[0]
    assert any("later value" in w for w in parse_config(twice, "go").warnings)


def test_trailing_semicolon_optional_and_double_semicolon_escapes():
    parsed = parse_config("tcp::addr=localhost:9009;username=a;;b;token=t", "node")
    assert parsed.accepted and parsed.keys == {"addr": "localhost:9009", "username": "a;b", "token": "t"}


def test_spaces_in_keys_and_values():
    assert not parse_config("tcp::addr=x:1; username=u;token=t;", "python").accepted
    assert "' username'" in parse_config("tcp::addr=x:1; username=u;token=t;", "node").problems[0]
    parsed = parse_config("tcp::addr= x:1;", "python")
    assert parsed.accepted and any("spaces" in w for w in parsed.warnings)


def test_empty_values_and_missing_equals():
    assert parse_config("tcp::addr=x:1;colour=;", "python").accepted
    assert "value is not set for 'colour'" in parse_config("tcp::addr=x:1;colour=;", "node").problems[0]
    assert "empty value" in parse_config("tcp::addr=x:1;colour=;", "go").problems[0]
    assert "Missing '=' sign in 'novalue'" in parse_config("tcp::addr=x:1;novalue;", "node").problems[0]


def test_authentication_keys_python_and_rust_need_token_x_and_token_y(other):
    for client in ("python", "rust"):
        assert not parse_config(short(other), client).accepted
        assert parse_config(full(other), client).accepted
    for client in ("node", "go", "java"):
        assert parse_config(short(other), client).accepted
    assert not parse_config("tcp::addr=x:1;username=u;", "node").accepted


def test_tls_keys_need_tcps_and_http_only_keys_are_refused():
    assert "TLS is not supported for protocol tcp" in parse_config("tcp::addr=x:1;tls_verify=on;", "python").problems[0]
    assert parse_config("tcps::addr=x:1;tls_verify=on;", "python").accepted
    assert "does not support auto-flush" in parse_config("tcp::addr=x:1;auto_flush_rows=5;", "rust").problems[0]
    assert parse_config("tcp::addr=x:1;auto_flush_rows=5;", "python").accepted


def test_refused_values_and_keys_that_need_another():
    assert "disabling auto-flush" in parse_config("tcps::addr=x:1;auto_flush=off;", "java").problems[0]
    assert not parse_config("tcp::addr=x:1;tls_verify=unsafe_off;", "java").accepted
    assert parse_config("tcps::addr=x:1;tls_verify=unsafe_off;", "java").accepted
    assert "tls_roots_password is missing" in parse_config("tcps::addr=x:1;tls_roots=/ca.p12;", "java").problems[0]
    assert parse_config("tcps::addr=x:1;tls_roots=/ca.p12;tls_roots_password=pw;", "java").accepted


def test_value_choices_and_integers():
    assert "Invalid protocol version: '4'" in parse_config("tcp::addr=x:1;protocol_version=4;", "node").problems[0]
    assert parse_config("tcp::addr=x:1;protocol_version=auto;", "python").accepted
    assert not parse_config("tcp::addr=x:1;init_buf_size=64k;", "java").accepted
    assert parse_config("tcp::addr=x:1;init_buf_size= 1024;", "python").accepted  # int() trims spaces
    assert not parse_config("tcp::addr=x:1;init_buf_size= 1024;", "go").accepted  # strconv.Atoi does not
    assert parse_config("tcp::addr=x:1;auto_flush_rows=off;", "go").accepted  # off is 0, allowed over TCP
    assert not parse_config("tcp::addr=x:1;auto_flush_rows=100;", "go").accepted


def test_scheme_and_addr():
    assert parse_config("TCP::addr=x:1;", "rust").accepted  # Protocol::from_schema ignores the case
    assert not parse_config("TCP::addr=x:1;", "node").accepted
    assert "'addr' is required" in parse_config("tcp::", "node").problems[0]
    assert parse_config("tcp::protocol_version=1;", "go").accepted  # Go falls back to its default address


def test_key_repeated_inside_its_own_value_is_a_warning():
    parsed = parse_config("tcp::addr=x:1;token_x=token_x=abc;", "node")
    assert any("its own key repeated" in w for w in parsed.warnings)


# --- verdicts --------------------------------------------------------------------------------------------------

def test_no_tcp_string_gives_none(test_key):
    assert check_config_strings('print("hello")', "python", test_key) is None
    assert check_config_strings('conf = "http::addr=localhost:9000;"', "python", test_key) is None


def test_language_picks_its_clients():
    assert clients_for("python") == ["python"] and clients_for("ts") == ["node"] and clients_for("go") == ["go"]
    assert clients_for("") == list(config_rules()) and clients_for("bash") == list(config_rules())


def test_python_without_token_x_fails_to_run_and_node_passes(other, test_key):
    python = check_config_strings(f'Sender.from_conf("{short(other)}")', "python", test_key)
    assert python.verdict == "FAILS TO RUN" and "Incomplete ECDSA" in python.evidence.splitlines()[0]
    node = check_config_strings(f'await Sender.fromConfig("{short(other)}")', "javascript", test_key)
    assert node.verdict == "PASS"


def test_a_consistent_key_pair_passes(other, test_key):
    result = check_config_strings(f'Sender.from_conf("{full(other)}")', "python", test_key)
    assert result.verdict == "PASS" and "token_x/token_y match token" in result.evidence


def test_an_inconsistent_key_pair_is_rejected(other, test_key):
    wrong = full(other).replace(other["x"], test_key["x"])
    result = check_config_strings(f'Sender.from_conf("{wrong}")', "python", test_key)
    assert result.verdict == "REJECTED" and "not the public key of token" in result.evidence


def test_the_key_repeated_in_its_value_makes_an_unreadable_coordinate_the_client_refuses(other, test_key):
    mistake = full(other).replace(f"token_x={other['x']}", f"token_x=token_x={other['x']}")
    result = check_config_strings(f'Sender.from_conf("{mistake}")', "python", test_key)
    assert result.verdict == "FAILS TO RUN" and any("its own key repeated" in n for n in result.notes)
    assert "Could not decode public key" in result.evidence


def test_a_token_that_is_no_key_fails_to_run_and_a_placeholder_is_a_note(test_key):
    bad = check_config_strings('fromConfig("tcp::addr=x:1;username=u;token=abcd;")', "javascript", test_key)
    assert bad.verdict == "FAILS TO RUN" and "P-256 private scalar" in bad.evidence
    placeholder = check_config_strings('fromConfig("tcp::addr=x:1;username=u;token=<your-token>;")', "javascript",
                                       test_key)
    assert placeholder.verdict == "PASS" and any("placeholder" in n for n in placeholder.notes)


def test_language_less_passes_when_some_client_accepts_and_lists_the_refusers(other, test_key):
    result = check_config_strings(f"Connect with {short(other)}\n", "", test_key)
    assert result.verdict == "PASS"
    assert "refused by python, rust" in result.evidence.splitlines()[0]
    assert any("refused by python, rust" in note for note in result.notes)
    refused = check_config_strings("Connect with TCP::addr=x:1; or tcp::addr=x:1;novalue;\n", "text", test_key)
    assert refused.verdict == "FAILS TO RUN"


def test_unresolved_parts_are_noted_and_not_judged(test_key):
    result = check_config_strings('Sender.fromConfig(`tcp::addr=${host}:9009;`)', "javascript", test_key)
    assert result.verdict == "PASS" and any("host could not be resolved" in n for n in result.notes)


# --- literal keys ------------------------------------------------------------------------------------------------

def test_literal_keys_derive_x_and_y_and_leave_out_the_test_key(other, test_key):
    code = f'a = Sender.from_conf("{short(other)}")\nb = Sender.from_conf("{full(test_key)}")\n'
    [jwk] = literal_keys(code, "python", test_key)
    assert (jwk["kid"], jwk["d"], jwk["x"], jwk["y"]) == (other["kid"], other["d"], other["x"], other["y"])
    assert auth_line(jwk) == auth_line(other)


def test_literal_auth_db_is_what_the_stub_takes(other, test_key):
    table = literal_auth_db(f'Sender.from_conf("{short(other)}")', "python", test_key)
    assert list(table) == [other["kid"]] and table[other["kid"]].x_b64 == other["x"]
    assert literal_auth_db('print("no config")', "python", test_key) == {}


def test_literal_keys_skip_unresolved_and_non_keys(test_key):
    code = 'a = f"tcp::addr=x:1;username={kid};token=abc;"\nb = "tcp::addr=x:1;username=u;token=<token>;"\n'
    assert literal_keys(code, "python", test_key) == []


# --- the data file -----------------------------------------------------------------------------------------------

def test_every_rule_says_how_it_is_known(tmp_path):
    text = CONFIG_RULES_FILE.read_text("utf-8")
    broken = tmp_path / "rules.toml"
    broken.write_text(text.replace("[client.go.known]\n", "[client.go.known]\nguess = \"probably\"\n", 1))
    with pytest.raises(DataFileError, match="guess"):
        config_rules(broken)
    missing = tmp_path / "missing.toml"
    missing.write_text(text.replace('escape = "source: parseConfigStr', 'x_escape = "source: parseConfigStr'))
    with pytest.raises(DataFileError, match="no 'known' for \\['escape'\\]"):
        config_rules(missing)


def test_rusts_concat_inside_format_is_read_whole():
    code = ('let s = Sender::from_conf(format!(\n    concat!(\n        "tcp::addr={}:{};",\n'
            '        "username=admin;",\n        "token=abc;"\n    ),\n    host, port\n))?;\n')
    found = find_config_strings(code, "rust")
    assert [f.text for f in found] == ["tcp::addr={?host}:{?port};username=admin;token=abc;"]
