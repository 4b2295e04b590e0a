"""Checks for the documentation snippets that are not client programs.

The page's auth file, its JWK, its server.conf lines and its install commands are validated as data; its
jose/jq key recipe is run as a reader would run it (in a temporary folder instead of the documented one),
and the key it makes must then authenticate against the stub. Each check returns a :class:`CheckResult`
whose evidence starts with a one-line summary.

Reference data (known server.conf keys, which package manager fits which platform) lives in
known_conf_keys.toml beside this file. Every external command runs with a timeout.
"""

from __future__ import annotations

import base64
import difflib
import json
import re
import shlex
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from server_stub.authdb import KEY_TYPE, AuthFileError, decode_base64url, parse_auth_db
from server_stub.client import Handshake, Key, authenticate
from server_stub.records import by_connection
from server_stub.running import run_stub

from ..paths import DOCS_CONF_KEYS as DATA
from ..process import run as run_process
from .data import conf_keys as _data  # known_conf_keys.toml, checked against its schema

__all__ = [
    "CheckResult",
    "auth_keys_on_page",
    "authenticate_once",
    "check_auth_lines",
    "check_install_commands",
    "check_jwk",
    "check_server_conf",
    "classify_bash",
    "looks_like_auth_file",
    "run_key_recipe",
]

AUTH_DB_KEY = "line.tcp.auth.db.path"
TOOLS = {"jose": "apt-get install jose", "jq": "apt-get install jq"}  # what the recipe needs, and the fix
RECIPE_UMASK = 0o022  # the usual default: what a reader's shell has
HANDSHAKE_TIMEOUT = 10.0
CHECK_ROW = b"recipe_check ok=true\n"
COORDINATE_BYTES = 32


@dataclass
class CheckResult:
    verdict: str  # "PASS", "FAILS TO RUN", "REJECTED" or "SKIPPED" (with its reason first in the evidence)
    evidence: str  # first line: the summary; then what was checked and what was found
    notes: list[str] = field(default_factory=list)  # what a docs maintainer should know, even on PASS
    substitutions: list[str] = field(default_factory=list)  # "from -> to (why)", every change before running


# --- the auth file -----------------------------------------------------------------------------------------


def _tokens(line: str) -> list[str]:
    """A line's whitespace-separated tokens up to the first one starting with '#' (a comment)."""
    tokens = []
    for token in line.split():
        if token.startswith("#"):
            break
        tokens.append(token)
    return tokens


def looks_like_auth_file(code: str) -> bool:
    """True when every non-blank, non-comment line is a key line: "ec-p-256-sha256" as its second token.

    Lines with the type second but a wrong token count (3 or 5 tokens) still count, so that a broken auth
    file is checked as one (and its error reported) rather than taken for a shell script.
    """
    key_lines = [tokens for tokens in map(_tokens, code.splitlines()) if tokens]
    return bool(key_lines) and all(len(tokens) >= 2 and tokens[1] == KEY_TYPE for tokens in key_lines)


def check_auth_lines(code: str) -> CheckResult:
    """Load the snippet with QuestDB's auth-file rules (server_stub.authdb.parse_auth_db)."""
    try:
        keys = parse_auth_db(code, "<snippet>")
    except AuthFileError as error:
        return CheckResult("FAILS TO RUN", f"line {error.line}: {error.problem}\n"
                           "loaded with QuestDB's auth-file rules: a server given this file refuses to start")
    if not keys:
        return CheckResult("FAILS TO RUN", "no key line: an auth file needs '<kid> ec-p-256-sha256 <x> <y>' lines")
    notes = []
    for key in keys.values():
        for name, token in (("x", key.x_b64), ("y", key.y_b64)):
            size = len(decode_base64url(token))
            if "=" in token:
                notes.append(f"{key.kid}: {name} has '=' padding; QuestDB accepts it, but a JWK's {name} is unpadded")
            if size != COORDINATE_BYTES:
                notes.append(f"{key.kid}: {name} is {size} bytes, not {COORDINATE_BYTES}; QuestDB accepts it, but a "
                             f"JWK built from this line needs exactly {COORDINATE_BYTES}")
    listed = ", ".join(f"{kid} (line {key.line})" for kid, key in keys.items())
    return CheckResult("PASS", f"{len(keys)} key(s) load with QuestDB's auth-file rules: {listed}", notes)


# Something that reads as a literal auth line: no shell variables, quotes or backticks in its tokens.
_LITERAL_AUTH = re.compile(
    r"(?:^|(?<=[\s\"'`]))([^\s\"'`$#][^\s\"'`$]*)[ \t]+" + re.escape(KEY_TYPE)
    + r"[ \t]+([^\s\"'`$]+)[ \t]+([^\s\"'`$]+)(?=$|[\s\"'`])")
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*")


def auth_keys_on_page(codes: list[str]) -> dict:
    """{kid: (x_b64, y_b64)} from every literal auth line on the page (auth-file snippets, or a line
    echoed by a script); lines built from shell variables (`echo "$KID ec-p-256-sha256 $X $Y"`) and
    placeholders that are not base64url are ignored. The first line for a kid wins."""
    found: dict[str, tuple[str, str]] = {}
    for code in codes:
        for line in code.splitlines():
            for match in _LITERAL_AUTH.finditer(_COMMENT.sub("", line)):
                kid, x_b64, y_b64 = match.groups()
                try:
                    decode_base64url(x_b64), decode_base64url(y_b64)
                except ValueError:
                    continue
                found.setdefault(kid, (x_b64, y_b64))
    return found


# --- the JWK -----------------------------------------------------------------------------------------------


def _jwk_scalar(jwk: dict, member: str) -> tuple[int | None, str | None]:
    """(value, None) for a well-formed d, x or y (43 characters of unpadded base64url), else (None, problem)."""
    value = jwk.get(member)
    if value is None:
        what = "no private key: a client cannot sign" if member == "d" else "no public coordinate"
        return None, f"no {member!r} member ({what})"
    if not isinstance(value, str):
        return None, f"{member!r} is a JSON {type(value).__name__}, not a base64url string"
    try:
        raw = decode_base64url(value)
    except ValueError as error:
        return None, f"{member!r} is not base64url: {error}"
    if "=" in value or len(raw) != COORDINATE_BYTES:
        return None, (f"{member!r} must be {COORDINATE_BYTES} bytes as 43 characters of unpadded base64url "
                      f"(RFC 7518), got {len(value)} characters ({len(raw)} bytes)")
    return int.from_bytes(raw, "big"), None


def _b64url(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(COORDINATE_BYTES, "big")).rstrip(b"=").decode()


def check_jwk(code: str, page_auth_keys: dict) -> CheckResult:
    """The snippet is a P-256 JWK whose d matches its x/y, and whose x/y are the page's auth line for its kid.

    A mismatch with the page's auth line is REJECTED: a server using the page's auth file rejects this key.
    """
    text = code.strip()
    try:
        jwk = json.loads(text)
    except json.JSONDecodeError as error:
        notes = []
        try:
            json.loads("{" + text + "}")
            notes.append("these are the members of a JWK without the surrounding braces: copied as is, "
                         "it is not JSON")
        except json.JSONDecodeError:
            pass
        return CheckResult("FAILS TO RUN", f"not JSON: {error.msg} (line {error.lineno}, column {error.colno})",
                           notes)
    if not isinstance(jwk, dict):
        return CheckResult("FAILS TO RUN", f"the JSON is a {type(jwk).__name__}, not a JWK object")
    for member, expected in (("kty", "EC"), ("crv", "P-256")):
        if jwk.get(member) != expected:
            return CheckResult("FAILS TO RUN", f"{member} is {jwk.get(member)!r}, expected {expected!r}")
    scalars = {}
    for member in ("d", "x", "y"):
        scalars[member], problem = _jwk_scalar(jwk, member)
        if problem:
            return CheckResult("FAILS TO RUN", problem)
    try:
        public = ec.derive_private_key(scalars["d"], ec.SECP256R1()).public_key().public_numbers()
    except ValueError as error:
        return CheckResult("FAILS TO RUN", f"'d' is not a valid P-256 private key: {error}")
    if (public.x, public.y) != (scalars["x"], scalars["y"]):
        return CheckResult("FAILS TO RUN", "d does not match x/y: d·G != (x, y)\n"
                           f"d·G is x={_b64url(public.x)} y={_b64url(public.y)}\n"
                           f"the JWK has x={jwk['x']} y={jwk['y']}")
    kid = jwk.get("kid")
    lines = [f"kty EC, crv P-256, kid {kid!r}: d·G == (x, y)"]
    notes = []
    if "alg" in jwk and jwk["alg"] != "ES256":
        notes.append(f"alg is {jwk['alg']!r}; ILP/TCP authentication signs with ES256 (ECDSA P-256, SHA-256)")
    if kid is None:
        notes.append("no 'kid' member: the client must get its key id (sent first in the handshake) elsewhere")
    elif not isinstance(kid, str) or not kid:
        return CheckResult("FAILS TO RUN", f"kid is {kid!r}, not a non-empty string")
    elif kid not in page_auth_keys:
        notes.append(f"the page has no auth line for kid {kid!r}: nothing on it lets a server accept this key")
    else:
        x_b64, y_b64 = page_auth_keys[kid]
        page_point = (int.from_bytes(decode_base64url(x_b64), "big"), int.from_bytes(decode_base64url(y_b64), "big"))
        if page_point != (scalars["x"], scalars["y"]):
            return CheckResult("REJECTED", f"kid {kid!r}: x/y differ from the page's auth line for {kid!r}: "
                               "a server using that auth file rejects this key\n"
                               f"auth line: x={x_b64} y={y_b64}\nJWK:       x={jwk['x']} y={jwk['y']}")
        lines.append(f"x/y equal the page's auth line for {kid!r}")
        if (x_b64, y_b64) != (jwk["x"], jwk["y"]):
            notes.append(f"the page's auth line for {kid!r} writes x/y differently (same point)")
    return CheckResult("PASS", "\n".join(lines), notes)


# --- server.conf -------------------------------------------------------------------------------------------

_PROPERTY = re.compile(r"((?:\\.|[^\s=:\\])*)[ \t\f]*([=:]?)[ \t\f]*(.*)")


def _properties(code: str) -> list[tuple[int, str, str, str]]:
    """(line number, key, value, separator) per entry, read like java.util.Properties (continuations, # and !
    comments, '=', ':' or whitespace as separator), minus escapes other than a plain backslash-char."""
    entries = []
    lines = code.splitlines()
    number = 0
    while number < len(lines):
        start = number
        line = lines[number].lstrip(" \t\f")
        number += 1
        if not line or line[0] in "#!":
            continue
        while line.endswith("\\") and not line.endswith("\\\\") and number < len(lines):
            line = line[:-1] + lines[number].lstrip(" \t\f")
            number += 1
        match = _PROPERTY.fullmatch(line)
        key = re.sub(r"\\(.)", r"\1", match.group(1))
        entries.append((start + 1, key, match.group(3).rstrip(), match.group(2) or " "))
    return entries


def _value_problem(kind: str, value: str) -> str | None:
    """Why QuestDB cannot read ``value`` as ``kind`` (it then refuses to start), or None."""
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return "is not an integer"
    if kind == "size" and not re.fullmatch(r"\d+[kKmMgG]?", value):
        return "is not a size (digits with an optional k, m or g)"
    if kind == "ipv4:port":
        match = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})", value)
        if not match or any(int(part) > 255 for part in match.groups()[:4]) or int(match.group(5)) > 65535:
            return "is not an IPv4 address and port such as 0.0.0.0:9009"
    if kind == "path" and not value:
        return "is empty"
    return None


def check_server_conf(code: str) -> CheckResult:
    """Every key is a known server.conf key (known_conf_keys.toml) and line.tcp.auth.db.path is set."""
    known = _data()["keys"]
    entries = _properties(code)
    if not entries:
        return CheckResult("FAILS TO RUN", "no key=value line")
    failures, lines, notes, seen = [], [], [], {}
    for number, key, value, separator in entries:
        if key in seen:
            notes.append(f"line {number}: {key} is set again (line {seen[key]}); the last value wins")
        seen[key] = number
        if separator != "=":
            shown = "whitespace" if separator == " " else repr(separator)
            notes.append(f"line {number}: {key} is separated from its value by {shown}; Java properties accept "
                         "it, but server.conf is usually written key=value")
        if not key:
            failures.append(f"line {number}: no key before {separator!r}")
            continue
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = (f"the closest known key is {close[0]} ({known[close[0]]['meaning']})" if close
                    else "no known key is close")
            failures.append(f"line {number}: unknown key {key!r}; {hint}")
            continue
        kind = known[key]["kind"]
        problem = _value_problem(kind, value)
        if problem:
            failures.append(f"line {number}: {key}={value} {problem}: QuestDB refuses to start")
            continue
        lines.append(f"line {number}: {key}={value}: {known[key]['meaning']}")
        if kind == "boolean" and value.lower() not in ("true", "false"):
            notes.append(f"line {number}: {key}={value}: QuestDB reads any value but 'true' as false")
        if key == "line.tcp.enabled" and value.lower() != "true":
            notes.append(f"line {number}: {key}={value} turns the ILP/TCP endpoint off: no client can connect")
        if key == AUTH_DB_KEY and value and not value.startswith("/"):
            notes.append(f"line {number}: {value} is relative: QuestDB resolves it against its root folder "
                         f"(the one holding conf/ and db/, e.g. /var/lib/questdb/{value})")
    if AUTH_DB_KEY not in seen and not failures:
        failures.append(f"{AUTH_DB_KEY} is not set: without it QuestDB accepts ILP/TCP connections "
                        "without any authentication")
    if failures:
        summary = failures[0] if len(failures) == 1 else f"{len(failures)} problems: {failures[0]}; ..."
        tail = [(f"(known keys: the {len(known)} of {DATA.name}, which lists the keys that matter here, "
                 "not every QuestDB key)")] if any("unknown key" in f for f in failures) else []
        return CheckResult("FAILS TO RUN", "\n".join([summary, *failures[1:], *tail]), notes)
    return CheckResult("PASS", "\n".join([f"{AUTH_DB_KEY} is set and every key is a known server.conf key",
                                          *lines]), notes)


# --- install commands --------------------------------------------------------------------------------------

_MANAGERS = ("apt-get", "apt", "yum", "dnf", "brew", "apk", "pacman", "snap", "zypper", "port")
_MANAGER_COMMAND = re.compile(
    r"(?:sudo(?:\s+-\S+)*\s+)?(?:(?P<manager>" + "|".join(map(re.escape, _MANAGERS)) + r")(?:\s+\S.*)?"
    r"|(?P<pip>pip3?|python3?\s+-m\s+pip)\s+install\b.*)")


def _commands(code: str) -> list[str]:
    """The block's shell commands: continuations joined, comments and prompts ('$ ') dropped, split at
    ';', '&&' and '||'."""
    joined = re.sub(r"\\\n", " ", code)
    commands = []
    for line in joined.splitlines():
        line = _COMMENT.sub("", line).strip()
        line = re.sub(r"^\$\s+", "", line)
        commands += [part.strip() for part in re.split(r"&&|\|\||;", line) if part.strip()]
    return commands


def _manager_of(command: str) -> str | None:
    match = _MANAGER_COMMAND.fullmatch(command)
    if not match:
        return None
    return match.group("manager") or "pip"


def classify_bash(code: str) -> str:
    """"install" (only package-manager commands), "auth-file" (looks_like_auth_file) or "script"."""
    commands = _commands(code)
    if commands and all(_manager_of(command) for command in commands):
        return "install"
    if looks_like_auth_file(code):
        return "auth-file"
    return "script"


def _platforms_of(tab: str | None) -> list[dict]:
    if not tab:
        return []
    label = tab.lower()
    return [platform for platform in _data()["platform"]
            if any(re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", label) for alias in platform["tabs"])]


def check_install_commands(code: str, tab: str | None) -> CheckResult:
    """SKIPPED: installs are not run (this machine provides jose and jq); notes when a manager does not
    fit the tab's platform, or needs root and has no sudo."""
    commands = [(command, _manager_of(command)) for command in _commands(code)]
    managers = list(dict.fromkeys(manager for _, manager in commands if manager))
    if not managers:
        return CheckResult("SKIPPED", "no package-manager command: not an install block")
    here = ", ".join(f"{tool} at {shutil.which(tool)}" if shutil.which(tool) else f"{tool} is not installed"
                     for tool in TOOLS)
    evidence = [(f"installs packages with {' and '.join(managers)}; not run: the checker's machine provides "
                 "jose and jq"), *(f"  {command}" for command, _ in commands), f"here: {here}"]
    notes = []
    platforms = _platforms_of(tab)
    if platforms:
        fitting = {manager for platform in platforms for manager in platform["managers"]}
        fitting |= set(_data()["packages"]["any_platform"])
        name = " / ".join(platform["name"] for platform in platforms)
        usual = platforms[0]["managers"][0]
        for manager in managers:
            if manager not in fitting:
                notes.append(f"{name} uses {usual}, not {manager}: on {name} the {tab} tab's commands fail "
                             f"with '{manager}: command not found' (write {usual} install ...)")
    needs_root = set(_data()["packages"]["needs_root"])
    unprivileged = list(dict.fromkeys(manager for command, manager in commands
                                      if manager in needs_root and not command.startswith("sudo")))
    if unprivileged:
        notes.append(f"{' and '.join(unprivileged)} without sudo: as an ordinary user it fails with a permission "
                     "error")
    return CheckResult("SKIPPED", "\n".join(evidence), notes)


# --- the key recipe ----------------------------------------------------------------------------------------

# An absolute path: starts a word (line start, whitespace, quote, '=', '(', redirection, pipe, ';').
_ABSOLUTE_PATH = re.compile(r"(?:^|(?<=[\s\"'=(<>|;]))(/(?:[\w.@+-]+/)+)([\w.@+-]*)", re.MULTILINE)
# Folders of programs and devices: never the documented place of a file the recipe writes.
_SYSTEM_FOLDERS = ("/bin/", "/sbin/", "/lib/", "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/share/",
                   "/usr/local/bin/", "/usr/local/sbin/", "/opt/homebrew/bin/", "/dev/", "/proc/", "/sys/")
_SUDO = re.compile(r"(?:^|(?<=[\s;|&(]))sudo(?:\s+-\S+)*\s+", re.MULTILINE)
_HOME = re.compile(r"(?:^|(?<=[\s\"'=(<>|;]))(?:~|\$HOME|\$\{HOME\})/", re.MULTILINE)


def _localise(code: str, workdir: Path) -> tuple[str, list[str]]:
    """The recipe with its documented folders moved to ``workdir``: (code, substitutions)."""
    substitutions = []
    target = str(workdir).rstrip("/") + "/"
    folders = {m.group(1) for m in _ABSOLUTE_PATH.finditer(code)}
    folders = {f for f in folders if not f.startswith(_SYSTEM_FOLDERS) and not f.startswith(target)}
    # Only the outermost folders: /a/b/ and /a/b/c/ move together, so /a/b/c/ becomes workdir/c/.
    roots = sorted({f for f in folders if not any(f != other and f.startswith(other) for other in folders)},
                   key=len, reverse=True)
    if roots:  # one pass, so that a replacement is never replaced again
        pattern = re.compile(r"(?:^|(?<=[\s\"'=(<>|;]))(?:" + "|".join(map(re.escape, roots)) + ")", re.MULTILINE)
        code = pattern.sub(lambda _m: target, code)
    for root in roots:
        substitutions.append(f"{root} -> {target} (the documented folder; the check writes only in its "
                             "temporary folder)")
        for folder in folders:
            if folder.startswith(root):  # the documented folders exist on a reader's machine
                (workdir / folder[len(root):]).mkdir(parents=True, exist_ok=True)
    if _HOME.search(code):
        code = _HOME.sub(lambda _m: target, code)
        substitutions.append(f"~/ -> {target} (the home folder; the check writes only in its temporary folder)")
    if _SUDO.search(code):
        code = _SUDO.sub("", code)
        substitutions.append("sudo -> (removed) (the check runs as an ordinary user in its temporary folder)")
    return code, substitutions


def _logical_lines(code: str) -> list[str]:
    return re.sub(r"\\\n", " ", code).splitlines()


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|;&<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: fall back to plain words
        return line.split()


def _redirect_target(words: list[str]) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word in (">", ">>"):
            return words[i + 1]
    return None


def _jwk_target(code: str) -> str | None:
    """Where `jose jwk gen` writes the key: its -o argument (or a > redirection)."""
    for line in _logical_lines(code):
        words = _words(line)
        for i in range(len(words) - 2):
            if words[i:i + 3] != ["jose", "jwk", "gen"]:
                continue
            rest = words[i + 3:]
            for j, word in enumerate(rest):
                if word in ("|", ";", "&&", "||", "&"):
                    break
                if word in ("-o", "--output") and j + 1 < len(rest):
                    return rest[j + 1]
                if word.startswith("--output="):
                    return word.split("=", 1)[1]
                if word.startswith("-o") and len(word) > 2 and not word.startswith("-o-"):
                    return word[2:]
            return _redirect_target(rest)
    return None


def _auth_target(code: str) -> str | None:
    """Where the recipe writes the auth line: the tee target (or > redirection) of a line with the key type."""
    for line in _logical_lines(code):
        if KEY_TYPE not in line:
            continue
        words = _words(line)
        for i, word in enumerate(words):
            if word == "tee":
                targets = [w for w in words[i + 1:] if not w.startswith("-")]
                if targets and targets[0] not in ("|", ";", "&&", ">", ">>"):
                    return targets[0]
        target = _redirect_target(words)
        if target:
            return target
    return None


def _overwrites(code: str) -> bool:
    """True when the line that writes the auth line replaces the file (tee without -a, or >) ."""
    for line in _logical_lines(code):
        if KEY_TYPE in line:
            words = _words(line)
            if "tee" in words:
                options = [w for w in words[words.index("tee") + 1:] if w.startswith("-")]
                return not any(o in ("-a", "--append") or (o[1:2] != "-" and "a" in o) for o in options)
            return ">" in words
    return False


def _run_bash(code: str, workdir: Path, timeout: float) -> tuple[int | None, str, str]:
    """(exit code or None on timeout, stdout, stderr) of `bash -e -c code` in workdir (process.run: its
    own process group, killed whole on timeout)."""
    done = run_process(["bash", "-e", "-c", code], workdir, timeout, umask=RECIPE_UMASK)
    return done.exit_code, done.stdout, done.stderr


def authenticate_once(host: str, port: int, jwk: dict, row: bytes = CHECK_ROW,
                      timeout: float = HANDSHAKE_TIMEOUT) -> str | None:
    """One handshake as a correct client does it, then one ILP row; None, or what went wrong on the wire.

    The reference client (server_stub.client) with the JWK's d: the key id and "\\n", the challenge read to
    its "\\n", the standard base64 of its DER signature (ECDSA P-256/SHA-256 of the challenge without the
    "\\n"), "\\n" and the row; then it half-closes and waits for the server to close after reading it all.
    """
    key = Key.from_d(jwk["kid"], jwk["d"])
    return authenticate(host, port, key, Handshake(form="der", rows=row), timeout=timeout, drain=True).problem


def _failed_run(summary: str, command: str, code: int | None, out: str, err: str, recipe: str) -> str:
    status = "timed out" if code is None else f"exit code {code}"
    return (f"{summary}\ncommand: {command}\n{status}\nstdout:\n{out.rstrip()}\nstderr:\n{err.rstrip()}\n"
            f"the recipe as run:\n{recipe.rstrip()}")


def run_key_recipe(code: str, workdir: Path, timeout: float = 60) -> CheckResult:
    """Run the jose/jq key recipe in ``workdir`` (bash -e, documented folders moved there), check the JWK and
    auth file it writes, then authenticate with that key against the stub."""
    workdir = Path(workdir).resolve()
    for tool, install in TOOLS.items():
        if re.search(rf"\b{tool}\b", code) and not shutil.which(tool):
            return CheckResult("SKIPPED", f"{tool} is not installed: {install}")
    if not shutil.which("bash"):
        return CheckResult("SKIPPED", "bash is not installed: apt-get install bash")
    workdir.mkdir(parents=True, exist_ok=True)
    local, substitutions = _localise(code, workdir)
    command = f"bash -e -c <the recipe, substituted> (in {workdir}, umask {RECIPE_UMASK:03o})"
    exit_code, out, err = _run_bash(local, workdir, timeout)
    if exit_code != 0:
        summary = (f"the recipe timed out after {timeout:g} s" if exit_code is None
                   else f"the recipe failed with exit code {exit_code}")
        return CheckResult("FAILS TO RUN", _failed_run(summary, command, exit_code, out, err, local),
                           substitutions=substitutions)
    ran = f"the recipe ran: {command}, exit code 0"

    # Where it wrote: as the page says (documented) and after the substitutions (local).
    targets = {"JWK": (_jwk_target(code), _jwk_target(local)), "auth": (_auth_target(code), _auth_target(local))}
    for what, (documented, written) in targets.items():
        if documented is None or written is None:
            where = "jose jwk gen -o ..." if what == "JWK" else "tee ..."
            return CheckResult("FAILS TO RUN", f"cannot tell where the recipe writes the {what} file ({where})\n"
                               f"{ran}", substitutions=substitutions)
        if not (workdir / written).is_file():
            return CheckResult("FAILS TO RUN", f"the recipe exited 0 but wrote no {what} file at {documented}\n{ran}",
                               substitutions=substitutions)
    (jwk_shown, jwk_written), (auth_shown, auth_written) = targets["JWK"], targets["auth"]
    jwk_path, auth_path = workdir / jwk_written, workdir / auth_written
    evidence = [ran, f"JWK file: {jwk_shown} (jose's -o); auth file: {auth_shown}"]

    auth_text = auth_path.read_text("utf-8", errors="replace")
    auth_check = check_auth_lines(auth_text)
    if auth_check.verdict != "PASS":
        return CheckResult("FAILS TO RUN", f"the auth file it wrote does not load: {auth_check.evidence}\n"
                           + "\n".join(evidence) + f"\nauth file:\n{auth_text}", substitutions=substitutions)
    evidence.append(f"auth file: {auth_check.evidence}")
    jwk_text = jwk_path.read_text("utf-8", errors="replace")
    jwk_check = check_jwk(jwk_text, auth_keys_on_page([auth_text]))
    jwk_check.evidence = jwk_check.evidence.replace("the page's auth line", "the auth line it wrote")
    jwk_check.notes = [note.replace("the page has no", "the auth file has no") for note in jwk_check.notes]
    if jwk_check.verdict != "PASS":
        jwk_check.evidence = f"the JWK it wrote: {jwk_check.evidence}\n" + "\n".join(evidence)
        jwk_check.substitutions = substitutions
        return jwk_check
    evidence.append("JWK: " + jwk_check.evidence.replace("\n", "; "))
    notes = jwk_check.notes + auth_check.notes

    mode = stat.S_IMODE(jwk_path.stat().st_mode)
    if mode & 0o077:
        notes.append(f"{jwk_shown} holds the private key (d) but jose wrote it with mode {mode:04o} (under umask "
                     f"{RECIPE_UMASK:03o}, the usual one): other local users can read it; run `umask 077` before "
                     "jose, or `chmod 600` the file")
    if _overwrites(code):
        notes.append(f"the recipe writes {auth_shown} with tee (no -a) or >: run again for a second client, it "
                     "replaces the first client's key instead of adding a line")
    jwk_folder, auth_folder = Path(jwk_shown).parent, Path(auth_shown).parent
    if jwk_folder == auth_folder and str(auth_folder) not in ("", "."):
        notes.append(f"the recipe leaves the client's private key ({Path(jwk_shown).name}) in the server's "
                     f"folder {auth_folder}/ beside {Path(auth_shown).name}; the server needs only "
                     f"{Path(auth_shown).name}")

    jwk = json.loads(jwk_text)
    kid = jwk.get("kid") or next(iter(parse_auth_db(auth_text)))
    return _prove_key({**jwk, "kid": kid}, auth_path, evidence, notes, substitutions)


def _prove_key(jwk: dict, auth_path: Path, evidence: list[str], notes: list[str],
               substitutions: list[str]) -> CheckResult:
    """One handshake and one row with ``jwk`` against a stub serving ``auth_path``: PASS or REJECTED."""
    kid = jwk["kid"]
    with run_stub(auth_path, handshake_timeout=HANDSHAKE_TIMEOUT) as stub:
        try:
            wire_problem = authenticate_once(stub.host, stub.port, jwk)
        except OSError as error:
            wire_problem = f"{type(error).__name__}: {error}"
        try:
            stub.wait_for(lambda events: any(e["event"] == "close" for e in events), HANDSHAKE_TIMEOUT)
        except TimeoutError:
            pass
        events = stub.events()
    conns = list(by_connection(events).values())
    auths = [c.auth for c in conns if c.auth is not None]
    table = CHECK_ROW.split(b" ")[0].decode()
    arrived = [row for c in conns for row in c.rows if row["table"] == table]
    if auths and auths[0]["accepted"] and arrived:
        auth = auths[0]
        evidence.append(f"handshake with the stub: key id {kid!r} accepted ({auth.get('encoding')} signature, "
                        f"{auth.get('signature_bytes')} bytes); the row {CHECK_ROW.decode().strip()!r} arrived")
        evidence.insert(0, f"the recipe's key {kid!r} authenticates against the stub")
        return CheckResult("PASS", "\n".join(evidence), notes, substitutions)
    if auths and not auths[0].get("accepted"):
        auth = auths[0]
        summary = f"the stub rejected key {kid!r}: {auth.get('reason')}"
        detail = [f"hint: {auth.get('hint')}", f"reason code: {auth.get('reason_code')}"]
    else:
        summary = f"key {kid!r}: " + ("accepted, but the row did not arrive" if auths else "no handshake verdict")
        detail = [f"stub events: {json.dumps(events)}"]
    if wire_problem:
        detail.append(f"on the wire: {wire_problem}")
    return CheckResult("REJECTED", "\n".join([summary, *detail, *evidence]), notes, substitutions)
