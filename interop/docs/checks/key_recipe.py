"""The jose/jq key recipe, run as a reader would run it (in a temporary folder instead of the documented
one); the key it makes must then authenticate against the stub. Every command runs with a timeout."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import stat
from pathlib import Path

from server_stub.authdb import KEY_TYPE, parse_auth_db
from server_stub.client import Handshake, Key, authenticate
from server_stub.records import by_connection
from server_stub.running import run_stub

from ...process import run as run_process
from .auth_file import auth_keys_on_page, check_auth_lines
from .jwk import check_jwk
from .result import CheckResult

TOOLS = {"jose": "apt-get install jose", "jq": "apt-get install jq"}  # what the recipe needs, and the fix
RECIPE_UMASK = 0o022  # the usual default: what a reader's shell has
HANDSHAKE_TIMEOUT = 10.0
CHECK_ROW = b"recipe_check ok=true\n"


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
