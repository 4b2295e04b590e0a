"""Key tooling (keys.py): JWKs, auth lines, key files and the `keys` CLI."""

from __future__ import annotations

import argparse
import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from server_stub import keys
from server_stub.authdb import parse_auth_db
from server_stub.keys import (
    auth_line,
    generate_jwk,
    load_jwk,
    private_key_from_jwk,
    validate_kid,
    write_keypair,
)

# The public reference key from the QuestDB docs (a test vector, not a secret).
REF_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "kid": "testUser1",
    "d": "5UjEMuA0Pj5pjK8a-fa24dyIf-Es5mYny3oE_Wmus48",
    "x": "fLKYEaoEb9lrn3nkwLDA-M_xnuFOdSt9y0Z7_vWSHLU",
    "y": "Dt5tbS1dEDMSYfym3fgMv0B99szno-dFc1rYF9t0aac",
}
REF_LINE = (
    "testUser1 ec-p-256-sha256 fLKYEaoEb9lrn3nkwLDA-M_xnuFOdSt9y0Z7_vWSHLU Dt5tbS1dEDMSYfym3fgMv0B99szno-dFc1rYF9t0aac"
)

GOOD_KIDS = ["testUser1", "a", "Alice.Key-1_2", "ключ", "a#b", "user@example.com"]
BAD_KIDS = [
    "",
    " ",
    "a b",
    "a\tb",
    "a\nb",
    "a\rb",
    "a\x0bb",
    "a\xa0b",
    "a\u2028b",
    "trailing ",
    "#comment",
    "a/b",
    "/abs",
    "a\\b",
    "a\0b",
    ".",
    "..",
]


def b64url_int(value: int, size: int = 32) -> str:
    """Encode ``value`` as ``size`` bytes of unpadded base64url."""
    return base64.urlsafe_b64encode(value.to_bytes(size, "big")).decode().rstrip("=")


def write_json(path: Path, value) -> Path:
    """Write ``value`` as JSON to ``path`` and return the path."""
    path.write_text(json.dumps(value))
    return path


def run_cli(argv: list[str]) -> int:
    """Run ``argv`` through a parser built like the package's cli.py."""
    parser = argparse.ArgumentParser(prog="python -m server_stub")
    sub = parser.add_subparsers(dest="command", required=True)
    keys.add_keys_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


# --- the reference key ------------------------------------------------------


def test_reference_jwk_validates(tmp_path: Path):
    jwk = load_jwk(write_json(tmp_path / "ref.json", REF_JWK))
    assert jwk == REF_JWK
    private = private_key_from_jwk(jwk)
    assert private.private_numbers().private_value == int.from_bytes(
        base64.urlsafe_b64decode(REF_JWK["d"] + "="), "big"
    )


def test_reference_auth_line_parses_to_the_same_public_key():
    assert auth_line(REF_JWK) == REF_LINE
    key = parse_auth_db(auth_line(REF_JWK))["testUser1"]
    assert key.public_key == private_key_from_jwk(REF_JWK).public_key()


def test_mismatched_d_is_refused(tmp_path: Path):
    other_d = generate_jwk("x")["d"]
    path = write_json(tmp_path / "bad.json", {**REF_JWK, "d": other_d})
    with pytest.raises(ValueError, match=r"does not match") as info:
        load_jwk(path)
    assert str(path) in str(info.value)
    assert other_d not in str(info.value)  # never echo a private key
    with pytest.raises(ValueError, match=r"does not match"):
        private_key_from_jwk({**REF_JWK, "d": other_d})


def test_mismatched_y_is_refused():
    with pytest.raises(ValueError, match=r"does not match"):
        private_key_from_jwk({**REF_JWK, "y": generate_jwk("x")["y"]})


# --- JWK validation ---------------------------------------------------------

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kty": "RSA"}, "'kty' must be 'EC'"),
        ({"kty": None}, "'kty' must be 'EC'"),
        ({"crv": "P-384"}, "'crv' must be 'P-256'"),
        ({"kid": ""}, "non-empty string"),
        ({"kid": None}, "non-empty string"),
        ({"kid": 7}, "non-empty string"),
        ({"kid": "a b"}, "whitespace"),
        ({"kid": "#a"}, "starts with '#'"),
        ({"d": None}, "'d' must be 43 characters.*got nothing"),
        ({"d": 5}, "'d' must be 43 characters.*got a JSON int"),
        ({"d": REF_JWK["d"] + "="}, "'d' must be 43.*'=' padding"),
        ({"x": REF_JWK["x"][:-1]}, "'x' must be 43.*got 42 characters"),
        ({"x": "AA" + REF_JWK["x"]}, "'x' must be 43.*got 45 characters"),
        ({"y": "+" + REF_JWK["y"][1:]}, "'y' is not base64url"),
        ({"d": b64url_int(0)}, "'d' is not a valid P-256 private scalar"),
        ({"d": b64url_int(N)}, "'d' is not a valid P-256 private scalar"),
    ],
)
def test_invalid_jwks_are_refused(tmp_path: Path, change: dict, message: str):
    jwk = {**REF_JWK, **change}
    with pytest.raises(ValueError, match=message):
        private_key_from_jwk(jwk)
    path = write_json(tmp_path / "k.json", jwk)
    with pytest.raises(ValueError, match=message) as info:
        load_jwk(path)
    assert str(info.value).startswith(f"{path}: ")


def test_missing_members_are_refused():
    for member in ("kty", "crv", "kid", "d", "x", "y"):
        jwk = {k: v for k, v in REF_JWK.items() if k != member}
        with pytest.raises(ValueError, match=repr(member)):
            private_key_from_jwk(jwk)


def test_extra_jwk_members_are_allowed(tmp_path: Path):
    jwk = {**REF_JWK, "alg": "ES256", "use": "sig"}
    assert load_jwk(write_json(tmp_path / "k.json", jwk)) == jwk


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not a JSON file"),
        (b"\xff\xfe", "not a JSON file"),
        (b"[1, 2]", "JWK must be a JSON object"),
        (b'"text"', "JWK must be a JSON object"),
    ],
)
def test_load_jwk_refuses_bad_files(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_jwk(path)


def test_load_jwk_missing_file(tmp_path: Path):
    with pytest.raises(ValueError, match="cannot read JWK file"):
        load_jwk(tmp_path / "nope.json")


# --- generate_jwk and auth_line ---------------------------------------------


def test_generate_jwk_shape():
    jwk = generate_jwk("k1")
    assert list(jwk) == ["kty", "crv", "kid", "d", "x", "y"]
    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("EC", "P-256", "k1")
    for member in ("d", "x", "y"):
        assert len(jwk[member]) == 43 and "=" not in jwk[member]
    assert isinstance(private_key_from_jwk(jwk), ec.EllipticCurvePrivateKey)
    assert generate_jwk("k1")["d"] != jwk["d"]


def test_generated_keys_round_trip_through_the_auth_file():
    jwks = [generate_jwk(f"k{i}") for i in range(20)]
    parsed = parse_auth_db("\n".join(auth_line(j) for j in jwks))
    for jwk in jwks:
        public = private_key_from_jwk(jwk).public_key()
        assert parsed[jwk["kid"]].public_key == public
        assert (parsed[jwk["kid"]].x_b64, parsed[jwk["kid"]].y_b64) == (jwk["x"], jwk["y"])


@pytest.mark.parametrize("kid", ["", "a b", "#a", "a\u2028b"])
def test_auth_line_refuses_kids_that_cannot_be_one_token(kid):
    with pytest.raises(ValueError):
        auth_line({**REF_JWK, "kid": kid})


# --- validate_kid -----------------------------------------------------------


@pytest.mark.parametrize("kid", GOOD_KIDS)
def test_validate_kid_accepts(kid):
    validate_kid(kid)


@pytest.mark.parametrize("kid", BAD_KIDS)
def test_validate_kid_refuses(kid):
    with pytest.raises(ValueError):
        validate_kid(kid)


# --- write_keypair ----------------------------------------------------------


def mode_of(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_write_keypair(tmp_path: Path):
    out = tmp_path / "new" / "dir"
    jwk_path, auth_path, line = write_keypair("client1", out)
    assert (jwk_path, auth_path) == (out / "client1.jwk.json", out / "client1.auth.txt")
    assert mode_of(jwk_path) == 0o600
    assert auth_path.read_text() == line + "\n"
    jwk = load_jwk(jwk_path)
    assert jwk["kid"] == "client1" and auth_line(jwk) == line
    key = parse_auth_db(auth_path.read_text())["client1"]
    assert key.public_key == private_key_from_jwk(jwk).public_key()


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_jwk_mode_is_exactly_0600_whatever_the_umask(tmp_path: Path, umask: int):
    old = os.umask(umask)
    try:
        jwk_path, _, _ = write_keypair("k", tmp_path)
    finally:
        os.umask(old)
    assert mode_of(jwk_path) == 0o600


def test_jwk_file_is_created_private_from_the_start(tmp_path: Path, monkeypatch):
    # The file must be born 0600 with O_EXCL, not created and chmod-ed later.
    calls = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *args, **kwargs):
        calls.append((Path(path).name, flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    write_keypair("k", tmp_path)
    _, flags, mode = next(c for c in calls if c[0] == "k.jwk.json")
    assert mode == 0o600
    assert flags & os.O_CREAT and flags & os.O_EXCL


@pytest.mark.parametrize("existing", ["k.jwk.json", "k.auth.txt"])
def test_write_keypair_refuses_to_overwrite(tmp_path: Path, existing: str):
    (tmp_path / existing).write_text("precious")
    with pytest.raises(FileExistsError, match="refusing to overwrite") as info:
        write_keypair("k", tmp_path)
    assert existing in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]
    assert (tmp_path / existing).read_text() == "precious"


def test_write_keypair_refuses_a_symlink(tmp_path: Path):
    target = tmp_path / "elsewhere"
    (tmp_path / "k.jwk.json").symlink_to(target)
    with pytest.raises(FileExistsError):
        write_keypair("k", tmp_path)
    assert not target.exists()


def test_write_keypair_refuses_a_second_run(tmp_path: Path):
    _, _, line = write_keypair("k", tmp_path)
    with pytest.raises(FileExistsError):
        write_keypair("k", tmp_path)
    assert (tmp_path / "k.auth.txt").read_text() == line + "\n"


@pytest.mark.parametrize("kid", BAD_KIDS)
def test_write_keypair_refuses_bad_kids(tmp_path: Path, kid: str):
    out = tmp_path / "out"
    with pytest.raises(ValueError):
        write_keypair(kid, out)
    assert not out.exists()


# --- the CLI ----------------------------------------------------------------


def test_cli_keys_gen(tmp_path: Path, capsys):
    out = tmp_path / "keys"
    assert run_cli(["keys", "gen", "--kid", "client1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    jwk_path, auth_path = out / "client1.jwk.json", out / "client1.auth.txt"
    assert captured.out == auth_path.read_text()
    assert str(jwk_path) in captured.err and str(auth_path) in captured.err
    assert mode_of(jwk_path) == 0o600
    jwk = load_jwk(jwk_path)
    key = parse_auth_db(captured.out)["client1"]
    assert key.public_key == private_key_from_jwk(jwk).public_key()


def test_cli_keys_gen_refuses_overwrite(tmp_path: Path, capsys):
    argv = ["keys", "gen", "--kid", "k", "--out", str(tmp_path)]
    assert run_cli(argv) == 0
    before = (tmp_path / "k.jwk.json").read_text()
    capsys.readouterr()
    assert run_cli(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "refusing to overwrite" in captured.err
    assert (tmp_path / "k.jwk.json").read_text() == before


@pytest.mark.parametrize("kid", ["a b", "#a", "../x", ".."])
def test_cli_keys_gen_refuses_bad_kids(tmp_path: Path, capsys, kid: str):
    assert run_cli(["keys", "gen", "--kid", kid, "--out", str(tmp_path / "o")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("keys gen: key id")
    assert not (tmp_path / "o").exists()


def test_cli_keys_check(tmp_path: Path, capsys):
    zero_x = generate_jwk("zero")
    x_int = int.from_bytes(base64.urlsafe_b64decode(zero_x["x"] + "="), "big")
    long_x = b64url_int(x_int, 33)
    path = tmp_path / "auth.txt"
    path.write_text(f"# keys\n{REF_LINE}\n\nzero ec-p-256-sha256 {long_x} {zero_x['y']}  # 33-byte x\n")
    assert run_cli(["keys", "check", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [
        f"testUser1  line 2  x={REF_JWK['x']}  y={REF_JWK['y']}",
        f"zero  line 4  x={long_x}  y={zero_x['y']}  (33-byte x with leading zero)",
        "2 keys OK",
    ]


def test_cli_keys_check_empty_file(tmp_path: Path, capsys):
    path = tmp_path / "auth.txt"
    path.write_text("# nothing yet\n")
    assert run_cli(["keys", "check", str(path)]) == 0
    assert capsys.readouterr().out == "0 keys OK\n"


def test_cli_keys_check_bad_file(tmp_path: Path, capsys):
    path = tmp_path / "auth.txt"
    path.write_text(f"{REF_LINE}\n{REF_LINE}\n")
    assert run_cli(["keys", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{path}:2: Duplicate keyId testUser1\n"


def test_cli_keys_check_missing_file(tmp_path: Path, capsys):
    path = tmp_path / "missing.txt"
    assert run_cli(["keys", "check", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:0: cannot read file")


@pytest.mark.parametrize("argv", [["keys"], ["keys", "gen", "--kid", "k"], ["keys", "check"]])
def test_cli_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(argv)
    assert info.value.code == 2
