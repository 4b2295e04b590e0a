"""The auth file parser (authdb.py) against QuestDB's loadAuthDb rules."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from server_stub.authdb import (
    AuthFileError,
    AuthKey,
    decode_base64url,
    load_auth_db,
    parse_auth_db,
)

# The public reference key from the QuestDB docs.
REF_KID = "testUser1"
REF_X = "fLKYEaoEb9lrn3nkwLDA-M_xnuFOdSt9y0Z7_vWSHLU"
REF_Y = "Dt5tbS1dEDMSYfym3fgMv0B99szno-dFc1rYF9t0aac"
REF_LINE = f"{REF_KID} ec-p-256-sha256 {REF_X} {REF_Y}"


def b64url(raw: bytes, padded: bool = False) -> str:
    """Base64url-encode ``raw``, unpadded unless asked."""
    text = base64.urlsafe_b64encode(raw).decode("ascii")
    return text if padded else text.rstrip("=")


def new_point() -> tuple[int, int]:
    """A fresh random P-256 public point."""
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return numbers.x, numbers.y


def coord(value: int, size: int = 32, padded: bool = False) -> str:
    """Encode a coordinate as ``size`` big-endian bytes in base64url."""
    return b64url(value.to_bytes(size, "big"), padded)


def key_line(kid: str, point: tuple[int, int] | None = None, sep: str = " ") -> str:
    """An auth-file line for ``kid`` (a fresh point unless given)."""
    x, y = point or new_point()
    return sep.join([kid, "ec-p-256-sha256", coord(x), coord(y)])


def parse_error(text: str) -> AuthFileError:
    """Parse ``text`` expecting an AuthFileError, and return it."""
    with pytest.raises(AuthFileError) as info:
        parse_auth_db(text, "auth.txt")
    return info.value


# --- the happy path ---------------------------------------------------------


def test_reference_key_from_the_docs():
    keys = parse_auth_db(REF_LINE + "\n# [key/user id] [key type] {keyX keyY}\n")
    assert list(keys) == [REF_KID]
    key = keys[REF_KID]
    assert isinstance(key, AuthKey)
    assert (key.kid, key.line, key.x_b64, key.y_b64) == (REF_KID, 1, REF_X, REF_Y)
    assert key.x == int.from_bytes(base64.urlsafe_b64decode(REF_X + "="), "big")
    numbers = key.public_key.public_numbers()
    assert (numbers.x, numbers.y) == (key.x, key.y)
    assert isinstance(numbers.curve, ec.SECP256R1)


def test_keys_keep_file_order_and_line_numbers():
    text = "\n".join(["# header", key_line("b"), "", key_line("a"), key_line("c")])
    keys = parse_auth_db(text)
    assert list(keys) == ["b", "a", "c"]
    assert [k.line for k in keys.values()] == [2, 4, 5]


def test_empty_and_comment_only_files_have_no_keys():
    assert parse_auth_db("") == {}
    assert parse_auth_db("\n\n   \n\t\n# only a comment\n   # indented\n") == {}


# --- whitespace and comments ------------------------------------------------


@pytest.mark.parametrize("sep", [" ", "\t", "\x0b", "\x0c", "  ", " \t\x0b\x0c "])
def test_tokens_are_separated_by_ascii_whitespace(sep):
    point = new_point()
    keys = parse_auth_db(key_line("k", point, sep))
    assert (keys["k"].x, keys["k"].y) == point


@pytest.mark.parametrize("space", ["\xa0", "\u2003", "\u3000", "\x1c", "\x1f"])
def test_unicode_whitespace_does_not_separate_tokens(space):
    # Java's \s is ASCII only, so "k\xa0ec-p-256-sha256" is one token.
    line = key_line("k").replace(" ", space, 1)
    assert parse_error(line).problem == "Was expecting 4 tokens"


@pytest.mark.parametrize("lead", [" ", "\t", " \t \x0b\x0c"])
def test_leading_and_trailing_whitespace_is_ignored(lead):
    keys = parse_auth_db(lead + key_line("k") + lead)
    assert list(keys) == ["k"]


@pytest.mark.parametrize("comment", [" # note", "\t#note", " #", " ## a b c d e f", " #x y z w v u"])
def test_trailing_comment_ends_the_line(comment):
    keys = parse_auth_db(key_line("k") + comment)
    assert list(keys) == ["k"]


def test_hash_inside_a_token_is_not_a_comment():
    # Only a token that *starts* with '#' is a comment.
    keys = parse_auth_db(key_line("a#b"))
    assert list(keys) == ["a#b"]
    error = parse_error(key_line("k") + "#note")
    assert error.problem.startswith("Invalid base64url y coordinate for keyId k: '#'")


def test_whole_line_comments_and_blank_lines_are_skipped():
    text = "\n".join(["#comment", "   # indented comment", "", "   ", "\t", key_line("k"), "#x"])
    keys = parse_auth_db(text)
    assert keys["k"].line == 6


def test_comment_token_counts_before_too_many_tokens():
    # The '#' check comes first, so a 5th token that is a comment is fine...
    assert list(parse_auth_db(key_line("k") + " #5th")) == ["k"]
    # ...but a 5th real token is an error even if a comment follows.
    assert parse_error(key_line("k") + " extra #c").problem == "Too many tokens"


# --- line endings -----------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_endings(eol):
    text = eol.join(["# c", key_line("a"), "", key_line("b")]) + eol
    keys = parse_auth_db(text)
    assert [(k.kid, k.line) for k in keys.values()] == [("a", 2), ("b", 4)]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_error_line_numbers_follow_the_line_endings(eol):
    text = eol.join([key_line("a"), "# c", "", "only three tokens"])
    error = parse_error(text)
    assert (error.line, error.problem) == (4, "Was expecting 4 tokens")


def test_mixed_line_endings():
    text = "# a\r\n# b\r# c\n" + key_line("k") + "\r\n"
    assert parse_auth_db(text)["k"].line == 4


def test_crlf_is_one_line_break_but_lf_cr_is_two():
    assert parse_auth_db("#\r\n" + key_line("k"))["k"].line == 2
    assert parse_auth_db("#\n\r" + key_line("k"))["k"].line == 3


@pytest.mark.parametrize("brk", ["\x1c", "\x1d", "\x1e"])
def test_other_line_breaks_do_not_split_lines(brk):
    # str.splitlines() would split here; Java's readLine() does not, and
    # these are not whitespace either, so they glue two tokens together.
    text = key_line("a") + brk + key_line("b")
    assert parse_error(text).problem == "Too many tokens"


@pytest.mark.parametrize("brk", ["\x85", "\u2028", "\u2029"])
def test_java_regex_line_terminators_void_the_line(brk):
    # QuestDB matches the line against "\s*(\S+)(.*)", and Java's "." does
    # not match \x85, \u2028 or \u2029. One of them anywhere after the first
    # token makes the very first match fail: the line reads as blank.
    assert parse_auth_db(key_line("a") + brk + key_line("b")) == {}
    assert parse_auth_db(key_line("k") + " # note" + brk) == {}
    assert parse_auth_db(key_line("k") + brk) == {}
    assert parse_auth_db(f"a b{brk} c") == {}  # not even "Was expecting 4 tokens"
    # Inside the first token it is just a (non-space) character of the key id.
    kid = f"a{brk}b"
    assert list(parse_auth_db(key_line(kid) + "\n" + key_line("c"))) == [kid, "c"]


def test_utf8_bom_is_not_stripped():
    # Java's UTF-8 reader keeps a BOM, so it becomes part of the first key id.
    assert list(parse_auth_db("\ufeff" + key_line("k"))) == ["\ufeffk"]


# --- coordinates ------------------------------------------------------------


def test_padded_and_unpadded_coordinates_are_the_same_key():
    x, y = new_point()
    unpadded = f"k ec-p-256-sha256 {coord(x)} {coord(y)}"
    padded = f"k ec-p-256-sha256 {coord(x, padded=True)} {coord(y, padded=True)}"
    assert len(coord(x)) == 43 and coord(x, padded=True).endswith("=")
    a, b = parse_auth_db(unpadded)["k"], parse_auth_db(padded)["k"]
    assert (a.x, a.y) == (b.x, b.y) == (x, y)
    assert b.x_b64 == coord(x, padded=True)  # the token exactly as written


@pytest.mark.parametrize("which", ["x", "y"])
def test_33_byte_coordinate_with_leading_zero(which):
    x, y = new_point()
    xs = coord(x, 33) if which == "x" else coord(x)
    ys = coord(y, 33) if which == "y" else coord(y)
    raw = decode_base64url(xs if which == "x" else ys)
    assert len(raw) == 33 and raw[0] == 0
    key = parse_auth_db(f"k ec-p-256-sha256 {xs} {ys}")["k"]
    assert (key.x, key.y) == (x, y)


def test_any_number_of_leading_zero_bytes_is_fine():
    # y written as 34 bytes (two leading zero bytes), x padded: still the
    # same unsigned integers.
    x, y = new_point()
    key = parse_auth_db(f"k ec-p-256-sha256 {coord(x, padded=True)} {coord(y, 34)}")
    assert (key["k"].x, key["k"].y) == (x, y)


def test_33_byte_coordinate_with_nonzero_leading_byte_is_rejected():
    x, y = new_point()
    big_x = b64url(b"\x01" + x.to_bytes(32, "big"))
    error = parse_error(f"# c\nkid1 ec-p-256-sha256 {big_x} {coord(y)}")
    assert error.line == 2
    assert "kid1" in error.problem and "not on the P-256 curve" in error.problem


def test_high_bit_coordinate_is_unsigned():
    # A coordinate whose first byte is >= 0x80 must not be read as negative.
    while True:
        x, y = new_point()
        if x >> 255:
            break
    assert parse_auth_db(key_line("k", (x, y)))["k"].x == x


def test_point_not_on_curve_names_the_key():
    x, y = new_point()
    error = parse_error(f"{REF_LINE}\nbadKey ec-p-256-sha256 {coord(x)} {coord(y ^ 1)}")
    assert str(error) == ("auth.txt:2: Invalid public key for keyId badKey: point (x, y) is not on the P-256 curve")


@pytest.mark.parametrize("char", ["+", "/"])
@pytest.mark.parametrize("which", ["x", "y"])
def test_standard_base64_characters_are_rejected(char, which):
    x, y = coord(new_point()[0]), coord(new_point()[1])
    if which == "x":
        x = char + x[1:]
    else:
        y = y[:10] + char + y[11:]
    error = parse_error(f"\n\nkid ec-p-256-sha256 {x} {y}")
    assert error.line == 3
    assert error.problem == (
        f"Invalid base64url {which} coordinate for keyId kid: {char!r} is not a base64url character"
    )


def test_length_mod_4_equal_1_is_rejected():
    x, y = new_point()
    bad_x = coord(x) + "AA"  # 45 characters
    error = parse_error(f"k ec-p-256-sha256 {bad_x} {coord(y)}")
    assert (error.line, error.path) == (1, "auth.txt")
    assert error.problem.startswith("Invalid base64url x coordinate for keyId k: length 45")


def test_wrong_padding_is_rejected():
    x, y = new_point()
    error = parse_error(f"k ec-p-256-sha256 {coord(x)}== {coord(y)}")
    assert error.problem == ("Invalid base64url x coordinate for keyId k: incorrect '=' padding")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("QQ", b"A"),
        ("QQ==", b"A"),
        ("QUI", b"AB"),
        ("QUI=", b"AB"),
        ("QUJD", b"ABC"),
        ("QR", b"A"),  # unused low bits are ignored, as in Java
        ("-_-_", b"\xfb\xff\xbf"),
    ],
)
def test_decode_base64url_accepts(token, expected):
    assert decode_base64url(token) == expected


@pytest.mark.parametrize(
    "token",
    [
        "Q",
        "QUJDR",
        "QQ=",
        "QQ===",
        "QUI==",
        "QUJD=",
        "=",
        "====",
        "QQ==QQ==",
        "QQ=A",
        "+/+/",
        "QU I",
        "QQ\u00e9",
        "QQ.=",
    ],
)
def test_decode_base64url_rejects(token):
    with pytest.raises(ValueError):
        decode_base64url(token)


@given(st.binary(max_size=64), st.booleans())
def test_decode_base64url_round_trips(raw, padded):
    assert decode_base64url(b64url(raw, padded)) == raw


# --- token count, type, duplicates -----------------------------------------


@pytest.mark.parametrize("line", ["k", "k ec-p-256-sha256", "k ec-p-256-sha256 AAAA", "k ec-p-256-sha256 AAAA # x y"])
def test_one_to_three_tokens(line):
    error = parse_error(f"{REF_LINE}\n{line}")
    assert str(error) == "auth.txt:2: Was expecting 4 tokens"


def test_five_tokens():
    error = parse_error(f"# c\n{REF_LINE}\n\n{key_line('k')} extra")
    assert str(error) == "auth.txt:4: Too many tokens"


def test_too_many_tokens_is_found_before_other_problems():
    assert parse_error("k bad-type x y z").problem == "Too many tokens"


@pytest.mark.parametrize("key_type", ["EC-P-256-SHA256", "ec-p-384-sha384", "ec-p-256", "ec-p-256-sha256x"])
def test_unrecognized_type(key_type):
    line = key_line("k").replace("ec-p-256-sha256", key_type)
    error = parse_error(f"{REF_LINE}\n{line}")
    assert str(error) == f"auth.txt:2: Unrecognized type {key_type}"


def test_duplicate_key_id():
    text = "\n".join([key_line("alice"), key_line("bob"), "# c", key_line("alice")])
    error = parse_error(text)
    assert str(error) == "auth.txt:4: Duplicate keyId alice"


def test_duplicate_is_found_before_bad_coordinates():
    error = parse_error(f"{REF_LINE}\n{REF_KID} ec-p-256-sha256 +bad+ /bad/")
    assert error.problem == f"Duplicate keyId {REF_KID}"


def test_type_is_checked_before_duplicates():
    error = parse_error(f"{REF_LINE}\n{REF_KID} rsa x y")
    assert error.problem == "Unrecognized type rsa"


def test_key_ids_are_case_sensitive_and_exact():
    text = "\n".join(key_line(k) for k in ["alice", "Alice", "ALICE", "alice.", "ключ"])
    keys = parse_auth_db(text)
    assert list(keys) == ["alice", "Alice", "ALICE", "alice.", "ключ"]
    assert "aLiCe" not in keys and "alice " not in keys


def test_first_error_stops_loading():
    error = parse_error("a b c\nd e f g h\n")
    assert (error.line, error.problem) == (1, "Was expecting 4 tokens")


# --- the error type and the file loader ---------------------------------------


def test_auth_file_error_fields():
    error = AuthFileError("/etc/auth.txt", 7, "Too many tokens")
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.problem) == ("/etc/auth.txt", 7, "Too many tokens")
    assert str(error) == "/etc/auth.txt:7: Too many tokens"


def test_default_path_in_errors():
    with pytest.raises(AuthFileError, match=r"^<auth db>:1: Was expecting 4 tokens$"):
        parse_auth_db("x")


def test_load_auth_db_from_str_and_path(tmp_path: Path):
    path = tmp_path / "auth.txt"
    path.write_bytes(f"# keys\r\n{REF_LINE}\r\n".encode())
    for arg in (path, str(path)):
        keys = load_auth_db(arg)
        assert list(keys) == [REF_KID] and keys[REF_KID].line == 2


def test_load_auth_db_reads_utf8(tmp_path: Path):
    path = tmp_path / "auth.txt"
    path.write_bytes(key_line("clé").encode("utf-8"))
    assert list(load_auth_db(path)) == ["clé"]


def test_load_auth_db_error_names_the_file(tmp_path: Path):
    path = tmp_path / "auth.txt"
    path.write_text(f"{REF_LINE}\nk ec-p-256-sha256 x\n")
    with pytest.raises(AuthFileError) as info:
        load_auth_db(path)
    assert str(info.value) == f"{path}:2: Was expecting 4 tokens"


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_invalid_utf8_names_its_line(tmp_path: Path, eol: bytes):
    path = tmp_path / "auth.txt"
    path.write_bytes(eol.join([REF_LINE.encode(), b"# ok", b"bad \xff byte", b"# x"]))
    with pytest.raises(AuthFileError) as info:
        load_auth_db(path)
    assert (info.value.path, info.value.line) == (str(path), 3)
    assert info.value.problem.startswith("invalid UTF-8")


def test_missing_file_is_line_0(tmp_path: Path):
    path = tmp_path / "missing.txt"
    with pytest.raises(AuthFileError) as info:
        load_auth_db(path)
    assert (info.value.path, info.value.line) == (str(path), 0)
    assert info.value.problem.startswith("cannot read file")


def test_directory_is_line_0(tmp_path: Path):
    with pytest.raises(AuthFileError) as info:
        load_auth_db(tmp_path)
    assert info.value.line == 0


# --- properties -----------------------------------------------------------------

_SPACE = st.text(alphabet=" \t\x0b\x0c", min_size=1, max_size=3)
_KID = st.text(
    alphabet=st.characters(exclude_characters=" \t\x0b\x0c\r\n\x85\u2028\u2029#"),
    min_size=1,
    max_size=8,
)
_POINTS = [new_point() for _ in range(4)]


@given(
    st.lists(_KID, min_size=1, max_size=4, unique=True),
    st.lists(_SPACE, min_size=5, max_size=5),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
    st.booleans(),
)
def test_any_layout_parses_to_the_same_keys(kids, spaces, eol, comment, padded):
    lines = []
    for kid, (x, y) in zip(kids, _POINTS, strict=False):
        tokens = [kid, "ec-p-256-sha256", coord(x, padded=padded), coord(y)]
        line = spaces[0] + "".join(t + s for t, s in zip(tokens, spaces[1:], strict=True))
        lines.append(line + ("#c d e" if comment else ""))
        if comment:
            lines.append(spaces[0] + "# a comment line")
    keys = parse_auth_db(eol.join(lines))
    assert list(keys) == kids
    assert [(k.x, k.y) for k in keys.values()] == _POINTS[: len(kids)]
