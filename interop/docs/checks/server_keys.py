"""QuestDB's own server.conf rules, read from the pinned open-source jar (interop/questdb/questdb.toml).

interop/docs/conf_keys/ConfKeys.java is compiled against the jar at run time and asked two things:

- `rules()`: every key of io.questdb.PropertyKey, and PropServerConfiguration.PropertyValidator's deprecated
  settings (key -> "Replaced by `...`" or "No longer used") and obsolete ones;
- `build(text)`: the server's own configuration object built from a server.conf, as QuestDB's Bootstrap
  builds it before starting any endpoint: what java.util.Properties read, how each key was parsed
  (boolean, int, int size, ipv4:port, ...), and whether the server accepts the file ("ok") or refuses to
  start ("refused", the ServerConfigurationException's message), or it failed otherwise ("error"). A
  cairo.root outside the temporary root is moved into it (the configuration creates that folder).

What the server does with the validator's findings was measured with interop/questdb/launcher.py on 9.3.4:
an unknown, obsolete or Enterprise-only key is logged ("Configuration issues: Invalid settings (not
recognized, probable typos)" / "Obsolete settings") and the server starts without it; a deprecated key is
logged and still read; with config.validation.strict=true an unknown or obsolete key stops it (exit 55),
a deprecated one does not; a value the server cannot parse (int, size, ipv4:port) stops it (exit 55,
"invalid configuration value [key=..., value=...]"); a boolean other than "true" (any case) reads as false.

Everything is cached under build/docs/conf_keys/questdb-VERSION-DIGEST/ (the jar's version and the Java
source's digest): the compiled classes, the rules, and each file's answer by the digest of its text.
Without Java or the jar, RulesUnavailable says why; nothing is guessed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ...paths import DEFAULT_BUILD_DIR, DOCS
from ...process import Finished, run

SOURCE = DOCS / "conf_keys" / "ConfKeys.java"
CACHE = DEFAULT_BUILD_DIR / "docs" / "conf_keys"
COMPILE_TIMEOUT = 120.0
RUN_TIMEOUT = 60.0
TAG = "confkeys"


class RulesUnavailable(RuntimeError):
    """Java, javac or the QuestDB jar cannot be had, or the helper failed; str() says why."""


@dataclass(frozen=True)
class ServerRules:
    version: str  # of the jar read
    keys: frozenset[str]  # every io.questdb.PropertyKey path
    deprecated: dict[str, str] = field(default_factory=dict)  # key: "Replaced by `...`" or "No longer used"
    obsolete: dict[str, str] = field(default_factory=dict)  # key the server no longer knows: what replaced it


@dataclass(frozen=True)
class Built:
    """What building QuestDB's configuration from one server.conf said."""

    version: str
    properties: dict[str, str]  # as java.util.Properties read the text (keys unescaped, values untrimmed)
    reads: dict[str, str]  # key of the file: how the configuration parsed it ("boolean", "int", "ipv4:port", ...)
    outcome: str  # "ok", "refused" (the server would not start) or "error" (building failed otherwise)
    message: str = ""  # the exception's message for "refused" and "error"
    substituted: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (value, value used instead)


@dataclass(frozen=True)
class _Helper:
    java: str
    classpath: str
    java_options: tuple[str, ...]
    version: str
    folder: Path


@cache
def _helper() -> _Helper:
    from ...questdb.launcher import QuestDBError, ensure_jar, jar_version, pinned

    java, javac = shutil.which("java"), shutil.which("javac")
    if java is None or javac is None:
        raise RulesUnavailable(f"`{'java' if java is None else 'javac'}` not found on PATH: the server.conf check "
                               "reads QuestDB's rules from its jar with a JDK 17+")
    try:
        jar = ensure_jar()
    except (QuestDBError, OSError) as error:
        raise RulesUnavailable(f"no QuestDB {pinned()['version']} jar: {error}") from None
    version = jar_version(jar) or pinned()["version"]
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    folder = CACHE / f"questdb-{version}-{digest}"
    classes = folder / "classes"
    if not (classes / "ConfKeys.class").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="classes-", dir=folder))
        done = run([javac, "-nowarn", "-d", str(staging), "-cp", str(jar), str(SOURCE)], folder, COMPILE_TIMEOUT)
        if not done.ok:
            shutil.rmtree(staging, ignore_errors=True)
            raise RulesUnavailable(f"cannot compile {SOURCE.name} against {jar.name}: {_last_line(done)}")
        try:
            staging.rename(classes)
        except OSError:  # another process compiled it first
            shutil.rmtree(staging, ignore_errors=True)
    return _Helper(java, f"{classes}{os.pathsep}{jar}", tuple(pinned()["java_options"]), version, folder)


def _ask(helper: _Helper, *args: str) -> list[list[str]]:
    """The helper's tagged lines, split on tabs (without the tag)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QDB_")}  # QDB_* would override keys
    done = run([helper.java, *helper.java_options, "-cp", helper.classpath, "ConfKeys", *args], helper.folder,
               RUN_TIMEOUT, env)
    if not done.ok:
        raise RulesUnavailable(f"ConfKeys {args[0]} failed ({done.status}): {_last_line(done)}")
    return [line.split("\t")[1:] for line in done.stdout.splitlines() if line.startswith(TAG + "\t")]


def _last_line(done: Finished) -> str:
    lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


@cache
def rules() -> ServerRules:
    """The jar's keys, deprecated and obsolete settings (cached on disk per jar version)."""
    helper = _helper()
    cached = helper.folder / "rules.tsv"
    if cached.is_file():
        rows = [line.split("\t") for line in cached.read_text("utf-8").splitlines()]
    else:
        rows = _ask(helper, "keys")
        if not any(row[0] == "key" for row in rows):
            raise RulesUnavailable("ConfKeys keys listed no key")
        _write(cached, "".join("\t".join(row) + "\n" for row in rows))
    return ServerRules(helper.version, frozenset(row[1] for row in rows if row[0] == "key"),
                       {row[1]: row[2] for row in rows if row[0] == "deprecated"},
                       {row[1]: row[2] for row in rows if row[0] == "obsolete"})


def build(text: str) -> Built:
    """QuestDB's configuration built from `text` (a whole server.conf), in an empty temporary root."""
    helper = _helper()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    cached = helper.folder / "built" / f"{digest}.tsv"
    if cached.is_file():
        rows = [line.split("\t") for line in cached.read_text("utf-8").splitlines()]
    else:
        with tempfile.TemporaryDirectory(prefix="conf-", dir=helper.folder) as work:
            conf, root = Path(work) / "server.conf", Path(work) / "root"
            root.mkdir()
            conf.write_text(text, "utf-8")  # as a reader saves it; Properties.load reads it as ISO-8859-1, as QuestDB does
            rows = _ask(helper, "check", str(conf), str(root))
        if not any(row[0] == "result" for row in rows):
            raise RulesUnavailable("ConfKeys check printed no result")
        _write(cached, "".join("\t".join(row) + "\n" for row in rows))
    result = next(row for row in rows if row[0] == "result")
    return Built(helper.version, {row[1]: row[2] if len(row) > 2 else "" for row in rows if row[0] == "property"},
                 {row[1]: row[2] for row in rows if row[0] == "read"}, result[1], result[2] if len(result) > 2 else "",
                 {row[1]: (row[2], row[3]) for row in rows if row[0] == "substituted"})


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a concurrent reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text, "utf-8")
    partial.replace(path)
