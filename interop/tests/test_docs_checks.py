"""The checks of non-client documentation snippets, on snippets written here (good and broken), with the
jose/jq recipe run for real, and over the sample page 001 when ../shared/docs-pages is there."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from server_stub.keys import auth_line, generate_jwk

from interop.docs.checks import (
    auth_keys_on_page,
    check_auth_lines,
    check_install_commands,
    check_jwk,
    check_server_conf,
    classify_bash,
    key_recipe,
    looks_like_auth_file,
    run_key_recipe,
)

PAGES = Path(os.environ.get("ILP_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared")) / "docs-pages"
HAVE_TOOLS = bool(shutil.which("jose") and shutil.which("jq") and shutil.which("bash"))
needs_tools = pytest.mark.skipif(not HAVE_TOOLS, reason="jose, jq and bash are needed: apt-get install jose jq")

# A recipe in the style of the docs page: documented absolute folder, jq to pick the members, tee.
RECIPE = """\
jose jwk gen -i '{"alg":"ES256","kid":"k1"}' -o /var/lib/questdb/conf/full_auth.json

KID=$(jq -r .kid < /var/lib/questdb/conf/full_auth.json)
X=$(cat /var/lib/questdb/conf/full_auth.json | jq -r '.x')
Y=$(cat /var/lib/questdb/conf/full_auth.json | jq -r '.y')

echo "$KID ec-p-256-sha256 $X $Y" | tee /var/lib/questdb/conf/auth.txt
"""


@pytest.fixture(scope="module")
def key() -> dict:
    return generate_jwk("alice")


@pytest.fixture(scope="module")
def other() -> dict:
    return generate_jwk("bob")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- auth file ---------------------------------------------------------------------------------------------


def test_looks_like_auth_file(key, other):
    good = f"# clients\n\n{auth_line(key)}\n\t{auth_line(other)}   # trailing comment\n"
    assert looks_like_auth_file(good)
    assert not looks_like_auth_file("# only a comment\n\n")
    assert not looks_like_auth_file("")
    assert not looks_like_auth_file(f"{auth_line(key)}\necho done\n")
    assert not looks_like_auth_file("alice ecdsa x y\n")
    # a broken key line still reads as an auth file, so that its error gets reported
    assert looks_like_auth_file(f"alice ec-p-256-sha256 {key['x']}\n")


def test_check_auth_lines_passes_and_lists_the_key_ids(key, other):
    result = check_auth_lines(f"# clients\n{auth_line(key)}\n\n{auth_line(other)}\n")
    assert result.verdict == "PASS"
    assert "alice (line 2)" in result.evidence and "bob (line 4)" in result.evidence
    assert result.notes == []


@pytest.mark.parametrize(
    "second_line, problem",
    [
        ("bob ec-p-256-sha256 {x}", "line 2: Was expecting 4 tokens"),
        ("bob ec-p-256-sha256 {x} {y} extra", "line 2: Too many tokens"),
        ("bob ecdsa-p256 {x} {y}", "line 2: Unrecognized type ecdsa-p256"),
        ("alice ec-p-256-sha256 {x} {y}", "line 2: Duplicate keyId alice"),
        ("bob ec-p-256-sha256 {x} {x}", "line 2: Invalid public key for keyId bob"),
        ("bob ec-p-256-sha256 {{keyX}} {{keyY}}", "line 2: Invalid base64url x coordinate"),
    ],
)
def test_check_auth_lines_reports_the_line_and_problem(key, other, second_line, problem):
    result = check_auth_lines(auth_line(key) + "\n" + second_line.format(**other) + "\n")
    assert result.verdict == "FAILS TO RUN"
    assert result.evidence.splitlines()[0].startswith(problem)


def test_check_auth_lines_needs_a_key_and_notes_odd_coordinates(key):
    assert check_auth_lines("# nothing yet\n").verdict == "FAILS TO RUN"
    x33 = _b64url(b"\0" + base64.urlsafe_b64decode(key["x"] + "="))
    result = check_auth_lines(f"alice ec-p-256-sha256 {x33} {key['y']}=\n")
    assert result.verdict == "PASS"
    assert any("x is 33 bytes" in note for note in result.notes)
    assert any("y has '=' padding" in note for note in result.notes)


def test_auth_keys_on_page_finds_literal_lines_only(key, other):
    script = (f'echo "{auth_line(other)}" >> auth.txt\n'
              'echo "$KID ec-p-256-sha256 $X $Y" | tee auth.txt\n'
              f"# {auth_line(generate_jwk('commented'))}\n")
    placeholder = "carol ec-p-256-sha256 {keyX} {keyY}\n"
    conflicting = auth_line({**generate_jwk("alice"), "kid": "alice"})
    found = auth_keys_on_page([auth_line(key), "const x = 1", script, placeholder, conflicting])
    assert found == {"alice": (key["x"], key["y"]), "bob": (other["x"], other["y"])}


# --- JWK ---------------------------------------------------------------------------------------------------


def test_check_jwk_passes_against_the_page_auth_line(key):
    result = check_jwk(json.dumps(key, indent=2), {"alice": (key["x"], key["y"])})
    assert result.verdict == "PASS", result.evidence
    assert "d·G == (x, y)" in result.evidence and "auth line for 'alice'" in result.evidence
    assert result.notes == []


def test_check_jwk_notes_a_kid_the_page_has_no_auth_line_for(key):
    result = check_jwk(json.dumps(key), {})
    assert result.verdict == "PASS"
    assert result.notes == ["the page has no auth line for kid 'alice': nothing on it lets a server accept this key"]


def test_check_jwk_d_not_matching_x_y(key, other):
    result = check_jwk(json.dumps({**key, "d": other["d"]}), {})
    assert result.verdict == "FAILS TO RUN"
    assert result.evidence.startswith("d does not match x/y")


def test_check_jwk_members_without_braces(key):
    members = json.dumps(key, indent=2).strip()[1:-1]
    result = check_jwk(members, {})
    assert result.verdict == "FAILS TO RUN"
    assert result.evidence.startswith("not JSON: ")
    assert "without the surrounding braces" in result.notes[0]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kty": "RSA"}, "kty is 'RSA', expected 'EC'"),
        ({"crv": "P-384"}, "crv is 'P-384', expected 'P-256'"),
        ({"d": None}, "no 'd' member"),
        ({"x": "AAAA"}, "'x' must be 32 bytes"),
        ({"y": "not+base64/url"}, "'y' is not base64url"),
        ({"kid": 7}, "kid is 7"),
    ],
)
def test_check_jwk_bad_members(key, change, message):
    jwk = {k: v for k, v in {**key, **change}.items() if v is not None}
    result = check_jwk(json.dumps(jwk), {})
    assert result.verdict == "FAILS TO RUN"
    assert message in result.evidence


def test_check_jwk_other_key_than_the_page_auth_line_is_rejected(key, other):
    result = check_jwk(json.dumps(key), {"alice": (other["x"], other["y"])})
    assert result.verdict == "REJECTED"
    assert "differ from the page's auth line" in result.evidence


# --- server.conf -------------------------------------------------------------------------------------------


# These build QuestDB's configuration with the pinned jar (checks/server_keys.py): they need a JDK.
needs_jdk = pytest.mark.skipif(shutil.which("java") is None or shutil.which("javac") is None,
                               reason="the server.conf check reads QuestDB's rules from its jar with a JDK")


@needs_jdk
def test_check_server_conf_passes():
    conf = "# ILP over TCP\nline.tcp.enabled=true\n\nline.tcp.net.bind.to=0.0.0.0:9009\n" \
           "! auth\nline.tcp.auth.db.path=conf/auth.txt\nline.http.enabled=true\n"
    result = check_server_conf(conf)
    assert result.verdict == "PASS", result.evidence
    assert result.evidence.splitlines()[0].startswith("line.tcp.auth.db.path is set and QuestDB ")
    assert "line 6: line.tcp.auth.db.path=conf/auth.txt" in result.evidence
    assert "line 7: line.http.enabled=true" in result.evidence
    assert any("relative" in note for note in result.notes)
    assert not any("line.http.enabled" in note for note in result.notes), result.notes


@needs_jdk
def test_check_server_conf_names_a_misspelt_key_and_the_closest_known_one():
    result = check_server_conf("line.tcp.auth.db.pth=conf/auth.txt\n")
    assert result.verdict == "FAILS TO RUN"
    first = result.evidence.splitlines()[0]
    assert "line.tcp.auth.db.path is not set" in first and "line 1 sets line.tcp.auth.db.pth" in first
    (note,) = [note for note in result.notes if note.startswith("line 1: line.tcp.auth.db.pth is not a key")]
    assert "starts without it" in note and "the closest key is line.tcp.auth.db.path" in note


@needs_jdk
def test_check_server_conf_problems():
    missing = check_server_conf("line.tcp.enabled=true\n")
    assert missing.verdict == "FAILS TO RUN" and "line.tcp.auth.db.path is not set" in missing.evidence
    bind = check_server_conf("line.tcp.auth.db.path=/etc/auth.txt\nline.tcp.net.bind.to=localhost:9009\n")
    assert bind.verdict == "FAILS TO RUN"
    assert bind.evidence.splitlines()[0].startswith("line 2: line.tcp.net.bind.to=localhost:9009: QuestDB ")
    assert "refuses to start: invalid configuration value [key=line.tcp.net.bind.to, value=localhost]" in bind.evidence
    assert check_server_conf("# nothing\n").verdict == "FAILS TO RUN"
    spaced = check_server_conf("line.tcp.auth.db.path  /etc/auth.txt\nline.tcp.enabled=yes\n")
    assert spaced.verdict == "PASS"
    assert any("whitespace" in note for note in spaced.notes)
    assert any("any value but 'true' as false" in note for note in spaced.notes)
    assert any("turns the ILP/TCP endpoint off" in note for note in spaced.notes)


# --- bash: classification and install commands ------------------------------------------------------------


@pytest.mark.parametrize(
    "code, kind",
    [
        ("brew install jose\nbrew install jq\n", "install"),
        ("sudo apt-get update && sudo apt-get install -y jose jq\n", "install"),
        ("# tools\n$ pip install questdb\n", "install"),
        ("dnf install jose \\\n  jq\n", "install"),
        ("alice ec-p-256-sha256 AAAA BBBB\n", "auth-file"),
        (RECIPE, "script"),
        ("apt install jq\njose jwk gen -i '{}'\n", "script"),
        ("", "script"),
    ],
)
def test_classify_bash(code, kind):
    assert classify_bash(code) == kind


def test_install_commands_are_not_run_and_yum_under_debian_gets_a_note():
    result = check_install_commands("yum install jose\nyum install jq\n", "Debian")
    assert result.verdict == "SKIPPED"
    assert result.evidence.startswith("installs packages with yum; not run: the checker's machine provides jose and jq")
    assert any(note.startswith("Debian uses apt, not yum") for note in result.notes)


@pytest.mark.parametrize(
    "code, tab, platform_note",
    [
        ("brew install jose jq\n", "macOS", None),
        ("sudo apt-get install jose jq\n", "Debian / Ubuntu", None),
        ("sudo dnf install jose jq\n", "Fedora", None),
        ("brew install jose\n", "Fedora", "Fedora uses dnf, not brew"),
        ("sudo apt install jose\n", "macos", "macOS uses brew, not apt"),
        ("pip install questdb\n", "macOS", None),
        ("sudo yum install jose\n", "Linux", None),
        ("sudo yum install jose\n", None, None),
    ],
)
def test_install_platform_notes(code, tab, platform_note):
    result = check_install_commands(code, tab)
    assert result.verdict == "SKIPPED"
    notes = [note for note in result.notes if " uses " in note]
    assert len(notes) == (platform_note is not None)
    if platform_note:
        assert notes[0].startswith(platform_note)
    assert not any("sudo" in note for note in result.notes)


def test_install_without_sudo_gets_a_note_and_a_non_install_block_is_skipped():
    assert any("apt without sudo" in note for note in check_install_commands("apt install jq\n", "Ubuntu").notes)
    assert check_install_commands("echo hello\n", "Ubuntu").verdict == "SKIPPED"


# --- the key recipe, for real ------------------------------------------------------------------------------


@needs_tools
def test_run_key_recipe_passes_with_the_mode_note(tmp_path):
    result = run_key_recipe(RECIPE, tmp_path)
    assert result.verdict == "PASS", result.evidence
    assert result.evidence.startswith("the recipe's key 'k1' authenticates against the stub")
    assert "accepted" in result.evidence and "'recipe_check ok=true' arrived" in result.evidence
    expected = (f"/var/lib/questdb/conf/ -> {tmp_path.resolve()}/ (the documented folder; "
                "the check writes only in its temporary folder)")
    assert result.substitutions == [expected]
    assert any("full_auth.json holds the private key (d) but jose wrote it with mode 0644" in note
               for note in result.notes)
    assert any("replaces the first client's key" in note for note in result.notes)
    assert (tmp_path / "full_auth.json").is_file() and (tmp_path / "auth.txt").is_file()


@needs_tools
def test_run_key_recipe_moves_home_drops_sudo_and_sees_a_safe_mode(tmp_path):
    recipe = ("mkdir -p ~/keys\numask 077\njose jwk gen -i '{\"alg\":\"ES256\",\"kid\":\"k2\"}' -o ~/keys/k2.json\n"
              "echo \"k2 ec-p-256-sha256 $(jq -r .x ~/keys/k2.json) $(jq -r .y ~/keys/k2.json)\" "
              "| sudo tee -a /etc/questdb/auth.txt\n")
    result = run_key_recipe(recipe, tmp_path)
    assert result.verdict == "PASS", result.evidence
    assert [s.split(" -> ")[0] for s in result.substitutions] == ["/etc/questdb/", "~/", "sudo"]
    assert not any("mode" in note or "replaces" in note or "server's folder" in note for note in result.notes)


@needs_tools
def test_run_key_recipe_without_jose_is_skipped(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "jq", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    result = run_key_recipe(RECIPE, tmp_path / "work")
    assert result.verdict == "SKIPPED"
    assert result.evidence == "jose is not installed: apt-get install jose"


@needs_tools
def test_run_key_recipe_failing_command_shows_command_exit_code_and_output(tmp_path):
    result = run_key_recipe(RECIPE.replace("jq -r .kid <", "jq -r .kid -Z <"), tmp_path)
    assert result.verdict == "FAILS TO RUN"
    lines = result.evidence.splitlines()
    assert lines[0].startswith("the recipe failed with exit code")
    assert lines[1].startswith("command: bash -e -c") and lines[2].startswith("exit code")
    assert "stderr:" in result.evidence and "-Z" in result.evidence.split("stderr:")[1]


@needs_tools
def test_run_key_recipe_times_out(tmp_path):
    result = run_key_recipe("sleep 30\n" + RECIPE, tmp_path, timeout=1)
    assert result.verdict == "FAILS TO RUN"
    assert result.evidence.startswith("the recipe timed out after 1 s")


@needs_tools
def test_run_key_recipe_whose_auth_line_is_another_key_is_rejected(tmp_path):
    recipe = """\
jose jwk gen -i '{"alg":"ES256","kid":"k1"}' -o /var/lib/questdb/conf/full_auth.json
jose jwk gen -i '{"alg":"ES256","kid":"k1"}' -o /var/lib/questdb/conf/another.json
echo "k1 ec-p-256-sha256 $(jq -r .x /var/lib/questdb/conf/another.json) $(jq -r .y /var/lib/questdb/conf/another.json)" \\
  > /var/lib/questdb/conf/auth.txt
"""
    result = run_key_recipe(recipe, tmp_path)
    assert result.verdict == "REJECTED"
    assert result.evidence.startswith("the JWK it wrote: kid 'k1': x/y differ from the auth line it wrote")
    assert result.substitutions


def test_the_stub_rejects_a_key_not_in_the_auth_file_with_reason_and_hint(tmp_path, key, other):
    auth = tmp_path / "auth.txt"
    auth.write_text(auth_line(key) + "\n")
    result = key_recipe._prove_key({**other, "kid": "alice"}, auth, [], [], [])
    assert result.verdict == "REJECTED"
    first, hint = result.evidence.splitlines()[:2]
    assert first.startswith("the stub rejected key 'alice': ") and hint.startswith("hint: ")


# --- the sample page ---------------------------------------------------------------------------------------


def _page_blocks(text: str) -> list[tuple[str, str | None, str]]:
    """(language, tab value, code) of each fenced block; the tab is the last <TabItem value> before it."""
    blocks = []
    for match in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", text, re.DOTALL | re.MULTILINE):
        tabs = re.findall(r'<TabItem value="([^"]+)">', text[:match.start()])
        blocks.append((match.group(1), tabs[-1] if tabs else None, match.group(2)))
    return blocks


@needs_tools
def test_page_001(tmp_path):
    pages = sorted(PAGES.glob("001_*.txt")) if PAGES.is_dir() else []
    if not pages:
        pytest.skip(f"no sample page 001 under {PAGES} (the shared docs pages are not on this machine)")
    blocks = _page_blocks(pages[0].read_text("utf-8"))
    page_keys = auth_keys_on_page([code for _, _, code in blocks])
    bash = [(tab, code, classify_bash(code)) for language, tab, code in blocks if language == "bash"]

    installs = [(tab, check_install_commands(code, tab)) for tab, code, kind in bash if kind == "install"]
    assert [(tab, r.verdict) for tab, r in installs] == [("macos", "SKIPPED"), ("debian", "SKIPPED"),
                                                         ("ubuntu", "SKIPPED")]
    platform_notes = {tab: [n for n in r.notes if " uses " in n] for tab, r in installs}
    assert platform_notes["macos"] == platform_notes["ubuntu"] == []
    assert platform_notes["debian"][0].startswith("Debian uses apt, not yum")

    (auth_file,) = [code for _, code, kind in bash if kind == "auth-file"]
    assert check_auth_lines(auth_file).verdict == "PASS"
    (jwk,) = [code for language, _, code in blocks if language == "json"]
    jwk_result = check_jwk(jwk, page_keys)
    assert jwk_result.verdict == "PASS" and jwk_result.notes == []
    (conf,) = [code for language, _, code in blocks if language == "ini"]
    assert check_server_conf(conf).verdict == "PASS"

    (recipe,) = [code for _, code, kind in bash if kind == "script"]
    result = run_key_recipe(recipe, tmp_path)
    assert result.verdict == "PASS", result.evidence
    assert any("mode 0644" in note for note in result.notes)
    assert result.substitutions[0].startswith("/var/lib/questdb/conf/ -> ")
