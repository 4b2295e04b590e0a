"""Java snippets: shaped into a compilable class, their QuestDB artifact resolved with Maven, compiled with
javac, run with `java -cp`.

A whole compilation unit (a class with `main`) is kept as is; a body excerpt (statements, perhaps with
imports above) is wrapped in `public class Snippet` with `public static void main(String[] args) throws
Exception`. Which artifact a snippet needs comes from the io.questdb names it uses, by the rules of
dependencies.toml [java]: org.questdb:questdb-client (io.questdb.client.*), or the server jar
org.questdb:questdb for packages only the server jar has (io.questdb.std, io.questdb.network,
io.questdb.cutlass.line.LineTcpSender ...); a snippet that uses none is JDK-only and needs no Maven.

Versions come from Central's maven-metadata.xml, which Maven itself fetches: `mvn -U <dependency
plugin>:get -Dartifact=G:A:LATEST:pom` refreshes it into the local repository as
G/A/maven-metadata-central.xml, and its <versions> are read from there (plain X.Y.Z releases only, so
the server's "-jdk8" builds are left out). The jars come from `<dependency plugin>:build-classpath` on
a one-dependency pom written into the snippet's folder; the local repository (~/.m2/repository by
default) is shared by every snippet, so only the first use of a version downloads anything. Within one
process the metadata is fetched once per artifact and each artifact:version's classpath resolved once.

When the newest release fails, java_fallbacks lists what to pin next: the newest of each older major,
then the predecessor's releases (the server jar held io.questdb.client before questdb-client existed).
The JVM options an artifact needs on Java 17 (dependencies.toml [java.java_options]) go into the command.
A `tcps::` snippet needs a truststore, not a PEM file: java_truststore makes one from the stub's CA.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path
from xml.etree import ElementTree

from ...process import Finished
from ...questdb.launcher import M2_REPOSITORY
from ..data import dependencies
from .common import INSTALL_TIMEOUT, Prepared, key_line, run
from .common import failed as _failed

JAVAC_TIMEOUT = 120
WRAPPER_CLASS = "Snippet"  # the class a body excerpt is wrapped in

# Comments, text blocks, strings and char literals: blanked before looking for declarations and names.
_NOT_CODE = re.compile(r'//[^\n]*|/\*.*?\*/|"""(?:\\.|[^\\])*?"""|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                       re.DOTALL)
_HEADER_LINE = re.compile(r"^[ \t]*(?:package|import)\s[^;\n]*;[^\n]*$", re.MULTILINE)
_PACKAGE = re.compile(r"^[ \t]*package\s+([\w.]+)\s*;", re.MULTILINE)
_TYPE = re.compile(r"(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|protected|private|final|abstract|static|strictfp|"
                   r"sealed|non-sealed)\s+)*(class|interface|enum|record)\s+([A-Za-z_$][\w$]*)")
_PUBLIC = re.compile(r"(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:final|abstract|strictfp|sealed|non-sealed)\s+)*public\b")
_MAIN = re.compile(r"\bstatic\s+(?:final\s+)?void\s+main\s*\(")
_QUESTDB_NAME = re.compile(r"\bio\s*\.\s*questdb(?:\s*\.\s*[\w$]+)+")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_JAVAC_ERROR = re.compile(r"^\S+\.java:\d+: error: .*$", re.MULTILINE)


# --- the source ---------------------------------------------------------------------------------------------

def java_source(code: str) -> tuple[str, str]:
    """(the class to run, a compilable source) for a snippet. A compilation unit (only package, imports and
    type declarations at the top level) is kept as is, and the class is the top-level type that declares
    `main`, qualified by the package if there is one. Anything else is an excerpt: its package and import
    lines go above `public class Snippet`, and the rest, line for line, into that class when it declares
    `main` itself (class members: fields, methods and main), else into its
    `public static void main(String[] args) throws Exception` (statements). ValueError when a
    compilation unit has no main method (not a program)."""
    return _shape(code)[:2]


def _shape(code: str) -> tuple[str, str, str, str]:
    """(class to run, source, file name without .java, how an excerpt was wrapped ("" for a unit))."""
    blank = _blanked(code)
    package = _PACKAGE.search(blank)
    prefix = package.group(1) + "." if package else ""
    types, rest = _top_level_types(_HEADER_LINE.sub(lambda m: " " * len(m.group()), blank))
    if types and not rest.strip():
        mains = [name for name, body, _public in types if _MAIN.search(body)]
        if not mains:
            raise ValueError("a compilation unit without a main method: "
                             f"{', '.join(name for name, _body, _public in types)} (not a program)")
        public = [name for name, _body, is_public in types if is_public]
        return prefix + mains[0], code, (public or mains)[0], ""
    header, body = [], []
    for original, blanked in zip(code.splitlines(), blank.splitlines(), strict=False):
        (header if _HEADER_LINE.fullmatch(blanked) else body).append(original)
    members = any(_depth(blank, main.start()) == 0 for main in _MAIN.finditer(blank))
    opening = [f"public class {WRAPPER_CLASS} {{"]
    closing = ["}", ""]
    wrapped = f"an excerpt of class members: wrapped in class {WRAPPER_CLASS}"
    if not members:
        opening.append("    public static void main(String[] args) throws Exception {")
        closing.insert(0, "    }")
        wrapped = f"a body excerpt: run as the main method of class {WRAPPER_CLASS}"
    return prefix + WRAPPER_CLASS, "\n".join([*header, *opening, *body, *closing]), WRAPPER_CLASS, wrapped


def _depth(blank: str, index: int) -> int:
    """The brace depth at `index` of blanked code."""
    return blank.count("{", 0, index) - blank.count("}", 0, index)


def _blanked(code: str) -> str:
    """The code with comments and literals turned into spaces (newlines kept, so positions match)."""
    return _NOT_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), code)


def _top_level_types(blank: str) -> tuple[list[tuple[str, str, bool]], str]:
    """The type declarations at brace depth 0 as (name, their text, public?), and what is left at depth 0
    outside them (statements, for a body excerpt)."""
    types, rest, depth, index = [], [], 0, 0
    while index < len(blank):
        declared = _TYPE.match(blank, index) if depth == 0 and _at_word_start(blank, index) else None
        if declared:
            opening = blank.find("{", declared.end())
            end = _matching_brace(blank, opening) if opening >= 0 else len(blank)
            types.append((declared.group(2), blank[index:end], bool(_PUBLIC.match(blank, index))))
            index = end
            continue
        char = blank[index]
        depth += {"{": 1, "}": -1}.get(char, 0)
        rest.append(char)
        index += 1
    return types, "".join(rest)


def _at_word_start(text: str, index: int) -> bool:
    return (index == 0 or not (text[index - 1].isalnum() or text[index - 1] in "_$.")) and not text[index].isspace()


def _matching_brace(text: str, opening: int) -> int:
    """The index just after the brace that closes the one at `opening` (the end of text if none)."""
    depth = 0
    for index in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index + 1
    return len(text)


# --- the artifact -------------------------------------------------------------------------------------------

def java_artifact(code: str) -> str | None:
    """The Maven artifact ("group:artifact") the snippet needs, by the first rule of dependencies.toml [java]
    that one of its io.questdb names (imports or qualified names in code, not in comments or strings)
    matches; None for a JDK-only snippet."""
    names = [re.sub(r"\s+", "", name) + "." for name in _QUESTDB_NAME.findall(_blanked(code))]
    for rule in dependencies()["java"]["rule"]:
        if any(name.startswith(rule["prefix"]) and not name.startswith(tuple(rule["except"])) for name in names):
            return rule["artifact"]
    return None


def java_predecessor(artifact: str) -> str | None:
    """The artifact whose jars held `artifact`'s classes before it was published (dependencies.toml
    [java.predecessors]), for a snippet that works with no release of `artifact`; None if there is none."""
    return dependencies()["java"]["predecessors"].get(artifact)


# --- versions -----------------------------------------------------------------------------------------------

class MavenFailed(RuntimeError):
    """A Maven command that failed: str() is its key line, `finished` the run (for the evidence)."""

    def __init__(self, step: str, finished: Finished):
        super().__init__(f"{step}: {_maven_key_line(finished)}")
        self.finished = finished


_REFRESHED: set[tuple[str, Path]] = set()  # (artifact, repository) whose metadata this process fetched
_CLASSPATHS: dict[tuple[str, str, Path], list[str]] = {}  # (artifact, version, repository): its jars


def java_versions(artifact: str, repository: Path = M2_REPOSITORY, refresh: bool = True) -> list[str]:
    """The plain X.Y.Z releases of `artifact` in Central's maven-metadata.xml, oldest first. With refresh,
    Maven fetches the metadata first (`mvn -U ...:get -Dartifact=G:A:LATEST:pom`), once per process and
    artifact; MavenFailed when that fails. Without, the copy already in `repository` is read ([] if none)."""
    if refresh and (artifact, repository) not in _REFRESHED:
        with tempfile.TemporaryDirectory(prefix="docs-java-") as empty:  # no pom.xml around: a plain `get`
            fetched = _mvn(["-U", f"{_plugin()}:get", f"-Dartifact={artifact}:LATEST:pom", "-Dtransitive=false"],
                           Path(empty), repository)
        if not fetched.ok:
            raise MavenFailed(f"mvn get {artifact}:LATEST", fetched)
        _REFRESHED.add((artifact, repository))
    group, name = artifact.split(":")
    found: set[str] = set()
    for metadata in (repository / Path(*group.split(".")) / name).glob("maven-metadata-*.xml"):
        try:
            listed = ElementTree.parse(metadata).getroot().iterfind("./versioning/versions/version")
        except ElementTree.ParseError:
            continue
        found.update(v.text.strip() for v in listed if v.text and _RELEASE.fullmatch(v.text.strip()))
    return sorted(found, key=_release_key)


def java_older_majors(artifact: str, newest: str, repository: Path = M2_REPOSITORY) -> list[str]:
    """The newest release of each major below `newest`'s, newest first, from the metadata that
    java_versions reads (fetched by Maven only when the local repository has no copy yet)."""
    versions = java_versions(artifact, repository, refresh=False) or java_versions(artifact, repository)
    return older_majors(versions, newest)


def java_fallbacks(artifact: str, newest: str, repository: Path = M2_REPOSITORY) -> list[tuple[str, str]]:
    """What to try, in order, when the newest release of `artifact` fails to build or run a snippet, as
    (artifact, version) to pass to prepare_java as pins={artifact: version}: the newest release of each
    older major of `artifact` (java_older_majors), then its predecessor's (java_predecessor) newest
    release and the newest of each of its older majors. Like java_older_majors, from the metadata in the
    local repository, fetched only when it has none; MavenFailed when that fetch fails."""
    attempts = [(artifact, version) for version in java_older_majors(artifact, newest, repository)]
    predecessor = java_predecessor(artifact)
    if predecessor:
        versions = java_versions(predecessor, repository, refresh=False) or java_versions(predecessor, repository)
        if versions:
            attempts += [(predecessor, version) for version in [versions[-1], *older_majors(versions, versions[-1])]]
    return attempts


def older_majors(versions: list[str], newest: str) -> list[str]:
    """Of `versions` (plain releases, any order), the highest of each major below `newest`'s, newest first."""
    by_major: dict[int, str] = {}
    for version in sorted(versions, key=_release_key):
        if _release_key(version)[0] < _release_key(newest)[0]:
            by_major[_release_key(version)[0]] = version
    return [by_major[major] for major in sorted(by_major, reverse=True)]


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# --- preparing ----------------------------------------------------------------------------------------------

def prepare_java(code: str, workdir: Path, pins: dict | None = None, repository: Path = M2_REPOSITORY) -> Prepared:
    """Shape the snippet (java_source), resolve its artifact (java_artifact; the newest release unless
    pins = {artifact: version} names one; pins may instead name the artifact's predecessor, e.g.
    {"org.questdb:questdb": "7.3.10"} for a snippet of io.questdb.client names, and then that artifact is
    used at that version) with Maven into `repository`, compile it with javac into
    workdir/classes, and give the `java -cp` command that runs it (with dependencies.toml's
    [java.java_options] for the artifact). FAILS TO INSTALL when Maven cannot resolve the artifact,
    FAILS TO BUILD when the snippet is not a program or javac refuses it (detail: javac's first error)."""
    workdir.mkdir(parents=True, exist_ok=True)
    prepared = Prepared(None, workdir)
    try:
        main_class, source, file_stem, wrapped = _shape(code)
    except ValueError as problem:
        prepared.verdict, prepared.detail = "FAILS TO BUILD", str(problem)
        prepared.evidence = prepared.detail
        return prepared
    (workdir / f"{file_stem}.java").write_text(source, encoding="utf-8")
    if wrapped:
        prepared.notes.append(wrapped)
    artifact = java_artifact(code)
    pins = pins or {}
    if artifact is not None and artifact not in pins and java_predecessor(artifact) in pins:
        artifact = java_predecessor(artifact)
        prepared.notes.append(f"with {artifact} {pins[artifact]}, which held these classes before")
    classpath: list[str] = []
    if artifact is None:
        prepared.notes.append("JDK only: no io.questdb names, so no Maven dependency")
    else:
        try:
            version = pins.get(artifact) or _newest(artifact, repository)
            classpath = _classpath(artifact, version, workdir, repository)
        except MavenFailed as problem:
            prepared.verdict, prepared.detail = "FAILS TO INSTALL", str(problem)
            prepared.evidence = _maven_evidence(problem.finished)
            return prepared
        except LookupError as problem:
            prepared.verdict, prepared.detail = "FAILS TO INSTALL", str(problem)
            prepared.evidence = prepared.detail
            return prepared
        prepared.versions[artifact] = version
    compiled = run(["javac", "-encoding", "UTF-8", "-d", "classes",
                    *(["-cp", os.pathsep.join(classpath)] if classpath else []), f"{file_stem}.java"],
                   workdir, JAVAC_TIMEOUT)
    if not compiled.ok:
        _failed(prepared, "FAILS TO BUILD", compiled, "javac")
        prepared.detail = f"javac: {javac_first_error(compiled.stderr + compiled.stdout)}"
        return prepared
    options = dependencies()["java"]["java_options"].get(artifact, []) if artifact else []
    prepared.command = ["java", *options, "-cp", os.pathsep.join(["classes", *classpath]), main_class]
    return prepared


def java_truststore(ca_pem: Path, folder: Path) -> tuple[Path, str]:
    """(a PKCS12 truststore holding the CA certificate of `ca_pem`, its password), made with keytool in
    `folder`: the questdb-client takes trusted roots only as a store and its password (tls_roots,
    tls_roots_password), not as a PEM file. RuntimeError with keytool's key line when it fails."""
    folder.mkdir(parents=True, exist_ok=True)
    store, password = folder / "docs-check-truststore.p12", "docs-check"
    store.unlink(missing_ok=True)
    made = run(["keytool", "-importcert", "-noprompt", "-alias", "docs-check-ca", "-file", str(ca_pem),
                "-keystore", str(store), "-storetype", "PKCS12", "-storepass", password], folder, 60)
    if not made.ok:
        raise RuntimeError(f"keytool -importcert {ca_pem}: {key_line(made.stderr or made.stdout)}")
    return store, password


def javac_first_error(output: str) -> str:
    """javac's first error line (`File.java:N: error: ...`), with the symbol it names when it says which."""
    match = _JAVAC_ERROR.search(output)
    if not match:
        return output.strip().splitlines()[-1][:300] if output.strip() else "(no output)"
    symbol = re.match(r"(?:.*\n){1,3}?\s*symbol:\s*(.*)", output[match.end() + 1:])
    return (match.group() + (f" ({symbol.group(1).strip()})" if symbol else ""))[:300]


def _newest(artifact: str, repository: Path) -> str:
    versions = java_versions(artifact, repository)
    if not versions:
        raise LookupError(f"no plain X.Y.Z release of {artifact} in Central's maven-metadata.xml")
    return versions[-1]


def _classpath(artifact: str, version: str, workdir: Path, repository: Path) -> list[str]:
    """The jars of artifact:version and its run-time dependencies, from `build-classpath` on a pom with
    that one dependency, written into workdir (Maven runs once per process for each artifact:version)."""
    (workdir / "pom.xml").write_text(_pom(artifact, version), encoding="utf-8")
    if (artifact, version, repository) not in _CLASSPATHS:
        resolved = _mvn([f"{_plugin()}:build-classpath", "-Dmdep.outputFile=classpath.txt"], workdir, repository)
        if not resolved.ok:
            raise MavenFailed(f"mvn build-classpath {artifact}:{version}", resolved)
        listed = (workdir / "classpath.txt").read_text().strip()
        _CLASSPATHS[(artifact, version, repository)] = [path for path in listed.split(os.pathsep) if path]
    return _CLASSPATHS[(artifact, version, repository)]


def _plugin() -> str:
    return dependencies()["java"]["dependency_plugin"]


# Snippets are prepared at the same time (schedule.py), and two Maven processes that download the same
# artifact into one local repository can leave it half written: one mvn at a time, in this process.
_MAVEN = threading.Lock()


def _mvn(arguments: list[str], cwd: Path, repository: Path) -> Finished:
    with _MAVEN:
        return run(["mvn", "-B", "-q", "-Dstyle.color=never", f"-Dmaven.repo.local={repository}", *arguments],
                   cwd, INSTALL_TIMEOUT)


def _maven_key_line(finished: Finished) -> str:
    """Maven's first [ERROR] line without its boilerplate: what could not be resolved, and why."""
    text = _ANSI.sub("", finished.stdout + "\n" + finished.stderr)
    errors = [line[len("[ERROR]"):].strip() for line in text.splitlines() if line.startswith("[ERROR]")]
    errors = [line for line in errors if line]
    if not errors:
        return finished.status + ": " + (text.strip().splitlines() or ["(no output)"])[-1][:300]
    message = re.sub(r"\s*->\s*\[Help \d+\]$", "", errors[0])
    message = re.sub(r"^Failed to execute goal(?: .*?)? on project \S+: ", "", message)
    message = re.sub(r"^Could not resolve dependencies for project \S+: ", "", message)
    return message[:300]


def _maven_evidence(finished: Finished) -> str:
    text = _ANSI.sub("", finished.stdout + "\n" + finished.stderr)
    lines = [line for line in text.splitlines() if line.strip() and line.strip() != "[ERROR]"]
    return f"{finished.command_line}\n{finished.status}: {_maven_key_line(finished)}\n" + "\n".join(lines[-12:])


def _pom(artifact: str, version: str) -> str:
    """A pom with one dependency: what a reader adds to their build for the snippet."""
    group, name = artifact.split(":")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by the docs check (interop/docs/clients/java.py): the snippet's one dependency. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>docs-check</groupId>
  <artifactId>snippet</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>{group}</groupId>
      <artifactId>{name}</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""
