"""The key pairs a snippet writes itself (interop/docs/own_keys.py, own_keys.toml), on snippets written here."""

from __future__ import annotations

import json

from server_stub.keys import generate_jwk

from interop.docs.own_keys import api_keys, own_keys
from interop.paths import DEFAULT_JWK

TEST_KEY = json.loads(DEFAULT_JWK.read_text())
OTHER = generate_jwk("testapp")


def test_the_go_option_with_a_comment_between_its_arguments():
    code = f'qdb.WithAuth(\n\t"admin", // key id\n\t"{TEST_KEY["d"]}", // token\n)\n'
    assert api_keys(code, "go") == [("admin", TEST_KEY["d"], "the Go client's WithAuth option")]


def test_names_are_resolved_from_their_assignments_typescript_types_skipped():
    code = (f"const CLIENT_ID: string = 'testapp';\nconst PRIVATE_KEY: string = '{OTHER['d']}';\n"
            "const AUTH: { keyId: string, token: string } = { keyId: CLIENT_ID, token: PRIVATE_KEY };\n")
    assert api_keys(code, "typescript") == [("testapp", OTHER["d"], "the Node 1.x client's auth object (keyId, token)")]


def test_a_placeholder_is_not_a_key():
    assert api_keys('auth = ("YOUR_KID", "YOUR_D_KEY", "YOUR_X_KEY", "YOUR_Y_KEY")', "python") == []


def test_a_key_of_its_own_is_served_with_its_derived_public_key():
    code = f'sender = Sender("localhost", 9009, auth=("testapp", "{OTHER["d"]}", "x", "y"))\n'
    keys, notes = own_keys(code, "python", TEST_KEY, {})
    assert list(keys) == ["testapp"]
    assert (keys["testapp"].x_b64, keys["testapp"].y_b64) == (OTHER["x"], OTHER["y"])
    assert "a private key of its own" in notes[0]


def test_the_test_key_itself_needs_nothing():
    code = f'qdb.WithAuth("{TEST_KEY["kid"]}", "{TEST_KEY["d"]}")\n'
    assert own_keys(code, "go", TEST_KEY, {}) == ({}, [])


def test_the_pages_own_auth_line_wins_so_a_mismatch_is_still_rejected():
    code = f'qdb.WithAuth("testapp", "{OTHER["d"]}")\n'
    page_line = generate_jwk("testapp")  # the page's auth file has another key for that kid
    keys, notes = own_keys(code, "go", TEST_KEY, {"testapp": (page_line["x"], page_line["y"])})
    assert (keys["testapp"].x_b64, keys["testapp"].y_b64) == (page_line["x"], page_line["y"])
    assert "the page's own auth line" in notes[0]
