"""Checks every snippet of a page: client programs run against the stub, the rest are validated."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import checks
from .clients import javascript_replacement, prepare_go, prepare_javascript, prepare_python, python_older_majors
from .extract import Page, Snippet
from .repeat import Verdict, not_installed, repeat
from .substitute import substitute

DOCUMENTED_PORT = 9009
CLIENT_LANGUAGES = {"javascript", "go", "python"}


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
    """What every snippet check shares: the stub, the key, where to work, the budget."""

    stub: object  # server_stub.RunningStub
    key: dict  # the shared test key (JWK)
    work: Path
    budget: float
    port_moved: bool
    tls_stub: object  # the same, speaking TLS (serve --tls), for snippets that ask for TLS

    @property
    def values(self) -> dict:
        return {"kid": self.key["kid"], "d": self.key["d"], "x": self.key["x"], "y": self.key["y"],
                "port": self.stub.port, "tls_port": self.tls_stub.port, "tls_ca": str(self.tls_stub.tls_ca)}

    def over_tls(self) -> Context:
        """The context of a snippet that asks for TLS: its connections go to the TLS stub."""
        return replace(self, stub=self.tls_stub)


def documented_port_is_free() -> bool:
    """True when 9009 can be bound on 127.0.0.1 (and on ::1 where the machine has IPv6)."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, DOCUMENTED_PORT))
        except OSError as error:
            if family == socket.AF_INET6 and error.errno == 99:  # no IPv6 loopback here
                continue
            return False
    return True


def check_page(page: Page, ctx: Context) -> PageResult:
    page_keys = checks.auth_keys_on_page([s.code for s in page.snippets])
    results = []
    for snippet in page.snippets:
        workdir = ctx.work / Path(page.name).stem / f"{snippet.index:02d}-{snippet.language or 'text'}"
        print(f"docs: {page.name} #{snippet.index} {snippet.language or '?'} ({snippet.tab or 'no tab'}) ...", flush=True)
        results.append(SnippetResult(snippet, check_snippet(snippet, page_keys, workdir, ctx)))
    return PageResult(page, results)


def check_snippet(snippet: Snippet, page_keys: dict, workdir: Path, ctx: Context) -> list[Verdict]:
    language = snippet.language
    if language in CLIENT_LANGUAGES:
        code, substitutions, tls = substitute(snippet.code, language, ctx.values, ctx.port_moved)
        runner = {"javascript": _javascript, "go": _go, "python": _python}[language]
        if not tls:
            return runner(code, substitutions, workdir, ctx)
        verdicts = runner(code, substitutions, workdir, ctx.over_tls())
        for verdict in verdicts:
            verdict.tls = True
            verdict.notes.insert(0, f"asks for TLS: run against the stub's TLS port {ctx.tls_stub.port}")
        return verdicts
    if language == "bash":
        kind = checks.classify_bash(snippet.code)
        if kind == "install":
            return [_from_check(checks.check_install_commands(snippet.code, snippet.tab))]
        if kind == "auth-file":
            return [_from_check(checks.check_auth_lines(snippet.code))]
        if "jose" in snippet.code:
            workdir.mkdir(parents=True, exist_ok=True)
            return [_from_check(checks.run_key_recipe(snippet.code, workdir))]
        return [Verdict("check", "SKIPPED", "out of scope: a shell script that is neither an install, an auth file nor the key recipe")]
    if language == "ini":
        return [_from_check(checks.check_server_conf(snippet.code))]
    if language == "json":
        return [_from_check(checks.check_jwk(snippet.code, page_keys))]
    return [Verdict("check", "SKIPPED", f"out of scope: no check for {language or 'unlabelled'} code blocks")]


def _from_check(result) -> Verdict:
    detail = next((line for line in result.evidence.splitlines() if line.strip()), "")
    return Verdict("check", result.verdict, detail[:160], result.evidence, substitutions=result.substitutions,
                   notes=result.notes)


def _javascript(code: str, substitutions: list[str], workdir: Path, ctx: Context) -> list[Verdict]:
    prepared = prepare_javascript(code, workdir / "newest")
    if prepared.command:
        return [repeat("newest", prepared, ctx.stub, ctx.budget, substitutions)]
    verdicts = [not_installed("newest", prepared, substitutions)]
    label = javascript_replacement(prepared.detail)
    if prepared.verdict == "FAILS TO INSTALL" and label:
        replaced = prepare_javascript(code, workdir / "replacement", replace_failing=True)
        second = (repeat("replacement", replaced, ctx.stub, ctx.budget, substitutions) if replaced.command
                  else not_installed("replacement", replaced, substitutions))
        second.notes.insert(0, f"second verdict, {label}")
        verdicts.append(second)
    return verdicts


def _go(code: str, substitutions: list[str], workdir: Path, ctx: Context) -> list[Verdict]:
    prepared = prepare_go(code, workdir)
    if ctx.stub is ctx.tls_stub:  # the Go client's config string has no roots option: Go reads SSL_CERT_FILE
        prepared.env["SSL_CERT_FILE"] = str(ctx.tls_stub.tls_ca)
    if not prepared.command:
        return [not_installed("newest", prepared, substitutions)]
    verdict = repeat("newest", prepared, ctx.stub, ctx.budget, substitutions)
    if ctx.port_moved and "9009" not in code and verdict.verdict == "FAILS TO RUN":
        verdict.notes.append("the snippet has no address to substitute (a client default) and 9009 was busy")
    return [verdict]


def _python(code: str, substitutions: list[str], workdir: Path, ctx: Context) -> list[Verdict]:
    venvs = ctx.work / "venvs"
    prepared = prepare_python(code, workdir / "newest", venvs)
    if not prepared.command:
        return [not_installed("newest", prepared, substitutions)]
    newest = repeat("newest", prepared, ctx.stub, ctx.budget, substitutions)
    if newest.verdict != "FAILS TO RUN" or not prepared.versions:
        return [newest]
    # Written for an older major? Try the newest release of each older major, once each.
    dist, version = next(iter(prepared.versions.items()))
    for older in python_older_majors(dist, version, prepared.command[0]):
        candidate = prepare_python(code, workdir / f"{dist}-{older}", venvs, pins={dist: older})
        if not candidate.command:
            continue
        if repeat("older major", candidate, ctx.stub, 0, substitutions).verdict == "FAILS TO RUN":
            continue
        works = repeat("older major", candidate, ctx.stub, ctx.budget, substitutions)
        newest.detail = f"written for {dist} {older.split('.')[0]}.x; fails on {version}: {newest.detail}"
        works.notes.insert(0, f"second verdict, with {dist}=={older}: the newest major it works with")
        return [newest, works]
    newest.notes.append(f"no older major of {dist} works either")
    return [newest]


def load_key(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))
