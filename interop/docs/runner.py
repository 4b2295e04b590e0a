"""Checks every snippet of a page: what each block is (classify.py), then client programs run against the
stub and the rest are validated (checks/). A config string in any block is judged too (a `config` verdict).

A client snippet runs as a reader would run it (newest library versions, install scripts off). When
that fails, second, labelled attempts follow, in this order and each at most once: its packages with
their install scripts on, a declared replacement of a package that no longer works, the older majors of
the client it was written for, and the smallest fix of a fault that has nothing to do with
authentication (fixes.py). Each shows whether the authentication part works; the first verdict stands.
The snippet's own key pairs (own_keys.py) are served by the stub while it runs.

Each client snippet is checked on a seat (seats.py): a stub of its own on a port of its own, substituted
into its code, or the documented port 9009, one snippet at a time, when its code has no port to
substitute. So snippets can be checked at the same time (schedule.py) without sharing a stub.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..evidence import Rule, load_evidence
from ..progress import RunProgress
from . import checks, fixes
from .checks.config_string import check_config_strings, find_config_strings
from .classify import Kind, completed_code
from .clients import (
    javascript_dependencies,
    javascript_older_majors,
    javascript_replacement,
    prepare_go,
    prepare_javascript,
    prepare_python,
    python_older_majors,
)
from .clients.java import java_fallbacks, prepare_java
from .clients.rust import prepare_rust, rust_older_majors
from .extract import Page, Snippet
from .own_keys import own_keys
from .repeat import Verdict, not_installed, repeat
from .seats import Seat, Seats
from .substitute import names_port, substitute
from .timing import Clock

RETRIED = ("FAILS TO BUILD", "FAILS TO RUN")  # a second attempt may tell why; the other verdicts are the answer


@dataclass
class SnippetResult:
    snippet: Snippet
    verdicts: list[Verdict] = field(default_factory=list)


@dataclass
class PageResult:
    page: Page
    snippets: list[SnippetResult]


@dataclass
class Context:
    """What every snippet check shares (the seats, the key, where to work, the budget and the stopping
    rule, the clock and the progress display); `seat` and `served` are one snippet's (for_snippet)."""

    seats: Seats
    key: dict  # the shared test key (JWK)
    work: Path
    budget: float
    java_truststore: tuple[str, str] = ("", "")  # the TLS seats' CA in a PKCS12 store, and its password
    rule: Rule = field(default_factory=load_evidence)  # evidence.toml: when repetitions stop (stopping.py)
    clock: Clock = field(default_factory=Clock)
    progress: RunProgress = field(default_factory=lambda: RunProgress(live=False))
    seat: Seat | None = None  # the snippet's seat, while one is checked
    served: dict = field(default_factory=dict)  # the snippet's own keys, served by its stub while it runs

    @property
    def port_moved(self) -> bool:
        return self.seats.port_moved

    @property
    def tls(self) -> bool:
        return self.seat is not None and self.seat.tls

    @property
    def tls_ca(self) -> Path:
        return self.seats.tls_ca

    def values(self, port: int) -> dict:
        """The substitutions' placeholders for a snippet whose stub listens on `port`."""
        return {"kid": self.key["kid"], "d": self.key["d"], "x": self.key["x"], "y": self.key["y"],
                "port": port, "tls_port": port, "tls_ca": str(self.tls_ca),
                "java_truststore": self.java_truststore[0], "java_truststore_password": self.java_truststore[1]}

    def for_snippet(self, seat: Seat, served: dict) -> Context:
        return replace(self, seat=seat, served=served)


def workdir_of(page: Page, snippet: Snippet, ctx: Context) -> Path:
    return ctx.work / Path(page.name).stem / f"{snippet.index:02d}-{snippet.language or 'text'}"


def starting_line(page: Page, snippet: Snippet, kind: Kind) -> str:
    return f"docs: {page.name} #{snippet.index} {snippet.language or '?'} ({snippet.tab or 'no tab'}): {kind.kind} ..."


def check_snippet(snippet: Snippet, kind: Kind, page_keys: dict, workdir: Path, ctx: Context) -> list[Verdict]:
    """The verdicts of one block, as its kind says."""
    if kind.kind == "skip":
        return [Verdict("check", "SKIPPED", kind.reason)]
    if kind.kind == "client":
        verdicts = _client(snippet, kind, page_keys, workdir, ctx)
    elif kind.kind == "config":
        verdicts = []
    else:
        with ctx.clock.phase("checks"):
            verdicts = [_from_check(_check_block(snippet, kind, page_keys, workdir))]
    config = check_config_strings(snippet.code, snippet.language, ctx.key)
    if config is not None:
        verdicts.append(_from_check(config, "config"))
    elif kind.kind == "config":  # its strings are all of other transports (or the scheme is only mentioned)
        schemes = sorted({f.scheme for f in find_config_strings(snippet.code, snippet.language)})
        verdicts.append(Verdict("check", "SKIPPED", f"not ILP/TCP: the config string is {', '.join(s + '::' for s in schemes)}"
                                if schemes else "out of scope: no ILP/TCP config string in it"))
    return verdicts


def _check_block(snippet: Snippet, kind: Kind, page_keys: dict, workdir: Path):
    if kind.kind == "install":
        return checks.check_install_commands(snippet.code, snippet.tab)
    if kind.kind == "auth-file":
        return checks.check_auth_lines(snippet.code)
    if kind.kind == "key-recipe":
        workdir.mkdir(parents=True, exist_ok=True)
        return checks.run_key_recipe(snippet.code, workdir)
    if kind.kind == "server-conf":
        return checks.check_server_conf(snippet.code, about_auth=bool(re.search(r"(?i)auth", snippet.heading)))
    if kind.kind == "jwk":
        return checks.check_jwk(snippet.code, page_keys)
    raise ValueError(f"no check for a block of kind {kind.kind!r}")


def _from_check(result, label: str = "check") -> Verdict:
    detail = next((line for line in result.evidence.splitlines() if line.strip()), "")
    return Verdict(label, result.verdict, detail[:160], result.evidence, substitutions=result.substitutions,
                   notes=result.notes)


# --- client snippets ---------------------------------------------------------------------------------------

def _client(snippet: Snippet, kind: Kind, page_keys: dict, workdir: Path, ctx: Context) -> list[Verdict]:
    language = snippet.language
    completed = completed_code(kind, snippet)
    tls = substitute(completed, language, ctx.values(0), port_moved=True)[2]  # does it ask for TLS?
    movable = names_port(completed, language)
    seat = ctx.seats.own(tls) if movable or ctx.port_moved else ctx.seats.documented(tls)
    try:
        code, substitutions, tls = substitute(completed, language, ctx.values(seat.stub.port), port_moved=seat.own)
        if kind.completed_by:
            blocks = ", ".join(f"#{s.index}" for s in kind.completed_by)
            substitutions.insert(0, f"excerpt completed by the page's earlier {language} blocks {blocks}, in order, "
                                    "its elision lines dropped")
        served, served_notes = own_keys(code, language, ctx.key, page_keys)  # the snippet's own key pairs
        verdicts = _attempts(language, code, substitutions, workdir, ctx.for_snippet(seat, served))
    finally:
        ctx.seats.release(seat)  # its port stays booked for its fault runs (faults.py)
    for verdict in verdicts:
        verdict.notes[:0] = served_notes
        verdict.own_keys = served
        if not movable:
            verdict.notes.insert(0, "its code names no port to substitute (a client's default address): "
                                    + ("9009 was busy, so its connections cannot reach the stub" if ctx.port_moved
                                       else f"run on the documented port {seat.port}, one snippet at a time"))
        if tls:
            verdict.tls = True
            verdict.notes.insert(0, f"asks for TLS: run against a TLS stub on port {seat.stub.port}")
    return verdicts


def _attempts(language: str, code: str, substitutions: list[str], workdir: Path, ctx: Context) -> list[Verdict]:
    """The newest attempt, then the second attempts that apply, as the module docstring says."""
    prepare = _timed(_PREPARE[language], ctx)
    prepared = prepare(code, workdir / "newest", ctx, None, {})
    newest = _judge("newest", prepared, substitutions, ctx)
    if newest.verdict not in (*RETRIED, "FAILS TO INSTALL"):
        return [newest]
    tried = [newest]  # with the second attempts that failed too: each says something
    if prepared.skipped_scripts and newest.verdict in RETRIED:
        with_scripts = prepare(code, workdir / "scripts", ctx, None, {"scripts": True})
        second = _judge("scripts", with_scripts, substitutions, ctx)
        second.notes.insert(0, f"second verdict, with the install scripts of {', '.join(prepared.skipped_scripts)} "
                               "run (the first attempt installs with scripts off)")
        tried.append(second)
        if second.verdict not in (*RETRIED, "FAILS TO INSTALL"):
            return tried
    replacement = _replacement(language, code, prepare, substitutions, workdir, ctx)
    if replacement:
        return [*tried, replacement]
    if newest.verdict not in RETRIED:
        return tried
    older = _older_major(language, code, prepared, substitutions, workdir, ctx)
    if older:
        written_for, works = older
        newest.detail = f"{written_for}; fails on the newest: {newest.detail}"
        return [*tried, works]
    newest.notes += [note for note in prepared.notes if note not in newest.notes]  # what _older_major found
    fix = fixes.minimal_fix(language, code, newest.evidence)
    if fix:
        fixed_code, what = fix
        again = prepare(fixed_code, workdir / "fixed", ctx, None, {})
        second = _judge("fixed", again, substitutions, ctx)
        second.notes.insert(0, f"second verdict, with the smallest fix: {what} (nothing to do with "
                               "authentication; it shows whether the authentication part works)")
        return [*tried, second]
    return tried


def _replacement(language: str, code: str, prepare, substitutions: list[str], workdir: Path,
                 ctx: Context) -> Verdict | None:
    """A JavaScript snippet that needs a package with a declared replacement (dependencies.toml), run with
    the replacement: its package may fail to install, or install (scripts off) and fail to load."""
    if language not in ("javascript", "typescript"):
        return None
    label = javascript_replacement(" ".join(javascript_dependencies(code)))
    if not label:
        return None
    replaced = prepare(code, workdir / "replacement", ctx, None, {"replace_failing": True})
    second = _judge("replacement", replaced, substitutions, ctx)
    second.notes.insert(0, f"second verdict, {label}")
    return second


def _judge(label: str, prepared, substitutions: list[str], ctx: Context, budget: float | None = None) -> Verdict:
    """Repeat the prepared attempt on the snippet's seat, its lock held throughout and its own keys served
    (for the documented port both belong to this snippet only while it holds the lock)."""
    if not prepared.command:
        return not_installed(label, prepared, substitutions)
    seat, shown = ctx.seat, f"{prepared.cwd.parent.parent.name} {prepared.cwd.parent.name} {label}"
    with ctx.clock.phase("repetitions"), seat.lock, seat.stub.extra_keys(ctx.served, replace=True):
        verdict = repeat(label, prepared, seat.stub, ctx.budget if budget is None else budget, substitutions, ctx.rule,
                         lambda v: ctx.progress.batch(shown, v.encoding or "p1363", v.tally, ctx.rule))
    ctx.progress.finished(shown)
    verdict.seat = seat
    return verdict


def _timed(prepare, ctx: Context):
    """The language's prepare, its seconds counted as preparation."""
    def timed(*args):
        with ctx.clock.phase("preparation"):
            return prepare(*args)
    return timed


def _older_major(language: str, code: str, prepared, substitutions: list[str], workdir: Path,
                 ctx: Context) -> tuple[str, Verdict] | None:
    """("written for CLIENT N.x", its verdict) for the first fallback of the snippet's client (the newest
    release of each older major; for Java then the server jar) that runs it; None when none does (a note
    on the newest attempt says which were tried) or the language has none."""
    fallbacks = _FALLBACKS.get(language)
    client = next((dist for dist in prepared.versions if dist in CLIENT_PACKAGES), None)
    if fallbacks is None or client is None:
        return None
    tried = []
    with ctx.clock.phase("preparation"):  # asking the registry for the older majors
        candidates = fallbacks(client, prepared.versions[client], prepared)
    for package, older in candidates:
        folder = workdir / f"{package.replace('/', '_').replace(':', '_')}-{older}"
        candidate = _timed(_PREPARE[language], ctx)(code, folder, ctx, {package: older}, {})
        tried.append(f"{package} {older}")
        if not candidate.command or _judge("older major", candidate, substitutions, ctx, budget=0).verdict in RETRIED:
            continue
        works = _judge("older major", candidate, substitutions, ctx)
        works.notes.insert(0, f"second verdict, with {package}=={older}: the newest major it works with")
        return f"written for {package} {older.split('.')[0]}.x", works
    prepared.notes.append(f"no older major of {client} works either (tried {', '.join(tried)})" if tried else
                          f"no older major of {client} is served by the registry here: none could be tried")
    return None


def _go(code, workdir, ctx, pins, options):
    prepared = prepare_go(code, workdir)
    if ctx.tls:  # the Go client's config string has no roots option: Go reads SSL_CERT_FILE
        prepared.env["SSL_CERT_FILE"] = str(ctx.tls_ca)
    return prepared


def _javascript(typescript: bool):
    def prepare(code, workdir, ctx, pins, options):
        return prepare_javascript(code, workdir, typescript=typescript, pins=pins, tools=ctx.work.parent / "tools",
                                  **options)
    return prepare


# language -> prepare(code, workdir, ctx, pins, options) -> Prepared; options: replace_failing, scripts
_PREPARE = {
    "python": lambda code, workdir, ctx, pins, options: prepare_python(code, workdir, ctx.work / "venvs", pins=pins),
    "javascript": _javascript(typescript=False),
    "typescript": _javascript(typescript=True),
    "go": _go,
    "rust": lambda code, workdir, ctx, pins, options: prepare_rust(code, workdir, pins=pins,
                                                                   target_dir=ctx.work.parent / "cargo-target"),
    "java": lambda code, workdir, ctx, pins, options: prepare_java(code, workdir, pins=pins),
}


def _python_fallbacks(dist: str, version: str, prepared) -> list[tuple[str, str]]:
    if not prepared.command:  # not even a venv: no pip to ask
        return []
    return [(dist, older) for older in python_older_majors(dist, version, prepared.command[0])]


# language -> fallbacks(client package, its newest version, the newest attempt's Prepared) -> [(package, version)]
_FALLBACKS = {
    "python": _python_fallbacks,
    "javascript": lambda package, version, prepared: [(package, v) for v in javascript_older_majors(package, version)],
    "typescript": lambda package, version, prepared: [(package, v) for v in javascript_older_majors(package, version)],
    "rust": lambda crate, version, prepared: [(crate, v) for v in rust_older_majors(crate, version)],
    "java": lambda artifact, version, prepared: java_fallbacks(artifact, version),
}
CLIENT_PACKAGES = ("questdb", "@questdb/nodejs-client", "questdb-rs", "org.questdb:questdb-client", "org.questdb:questdb")


def load_key(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))
