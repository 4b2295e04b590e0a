"""What a code block is, and so what the docs check does with it (the rules are data: classify.toml).

    client       ILP/TCP client code with authentication: run against the stub
    auth-file    QuestDB auth-file lines; jwk: a JSON Web Key; server-conf: server.conf lines
    install      package-manager commands; key-recipe: the jose/jq recipe; script: another shell script
    config       a block whose only ILP content is a config string (a text block, an env variable)
    skip         not checked, with the reason: another transport, no authentication, an excerpt, a
                 language that is not run, a block that is none of the above

A client-language block is judged by the transport its code names (the strongest match of
classify.toml [[transport]]), then by whether it configures authentication ([[auth]]). An excerpt
(elisions such as `...` or `// ...`) is skipped unless the page's earlier blocks complete it (Python:
every name the excerpt uses and does not define is defined by the earlier Python blocks of its tab).
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass, field
from functools import cache

from .checks.auth_file import looks_like_auth_file
from .checks.install import classify_bash
from .clients.rust import rust_fence_skip_reason
from .data import load_classification
from .extract import Snippet

CLIENT_LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java")
CONFIG_STRING = re.compile(r"\b(?:tcps?|https?|wss?|udp)::")
_CONF_KEY = re.compile(r"^\s*(?:line|http|pg|cairo|shared|query|metrics|telemetry|config|acl|tls|ilp|wal)\.[\w.-]+\s*[=:]",
                       re.MULTILINE)


@dataclass
class Kind:
    kind: str  # see the module docstring
    reason: str = ""  # for skip: why (shown as the SKIPPED detail); for client: what decided
    transport: str = ""  # for client blocks: the transport found
    completed_by: list[Snippet] = field(default_factory=list)  # the earlier blocks that complete an excerpt


@cache
def _rules() -> dict:
    rules = load_classification()
    compiled = {
        "transport": [{**t, "regexes": [re.compile(p) for p in t["patterns"]]} for t in rules["transport"]],
        "auth": [re.compile(p) for rule in rules["auth"] for p in rule["patterns"]],
        "library": [re.compile(p) for p in rules["library"]["patterns"]],
        "elision_lines": [re.compile(p) for p in rules["elisions"]["lines"]],
        "elision_inline": [re.compile(p) for p in rules["elisions"]["inline"]],
        "languages": rules["languages"],
    }
    return compiled


_COMMENT_LINE = re.compile(r"^[ \t]*(?://|#(?![!\[])|--|/?\*).*$", re.MULTILINE)


def without_comment_lines(code: str) -> str:
    """The code with its comment-only lines blanked (line numbers kept): `//`, `#`, `--`, `/*`, `*` lines;
    a Rust attribute (`#[...]`, `#![...]`) is code."""
    return _COMMENT_LINE.sub("", code)


def _line_of(code: str, position: int) -> int:
    return code.count("\n", 0, position) + 1


def transport_of(code: str, language: str) -> tuple[str, bool, str] | None:
    """(name, is ILP/TCP, what matched and where) of the strongest transport match, or None."""
    best = None
    for rule in _rules()["transport"]:
        if rule["languages"] and language not in rule["languages"]:
            continue
        for regex in rule["regexes"]:
            match = regex.search(code)
            if not match:
                continue
            rank = (rule["strength"] == "strong", rule["tcp"])
            if best is None or rank > best[0]:
                best = (rank, rule["name"], rule["tcp"], f"{match.group(0)!r} at line {_line_of(code, match.start())}")
            break
    return None if best is None else best[1:]


def configures_auth(code: str) -> str | None:
    """What shows that the code authenticates (the first [[auth]] match and its line), or None."""
    for regex in _rules()["auth"]:
        match = regex.search(code)
        if match:
            return f"{match.group(0)!r} at line {_line_of(code, match.start())}"
    return None


def elisions(code: str) -> list[str]:
    """The elisions that mark the block as an excerpt ("line N: ..."), in order."""
    found = []
    for number, line in enumerate(code.splitlines(), 1):
        stripped = line.strip()
        if any(regex.fullmatch(stripped) for regex in _rules()["elision_lines"]) or \
                any(regex.search(line) for regex in _rules()["elision_inline"]):
            found.append(f"line {number}: {stripped[:60]}")
    return found


def looks_like_jwk(code: str) -> bool:
    """JSON (or nearly: a broken JWK is still checked as one) with a JWK's members: kty, or d, x and y."""
    try:
        value = json.loads(code)
    except json.JSONDecodeError:
        return bool(re.search(r'"kty"\s*:', code)) or all(re.search(rf'"{m}"\s*:', code) for m in "dxy")
    return isinstance(value, dict) and ("kty" in value or all(m in value for m in "dxy"))


def looks_like_server_conf(code: str) -> bool:
    return bool(_CONF_KEY.search(code))


def classify(snippet: Snippet, earlier: list[Snippet] = ()) -> Kind:
    """What the check does with ``snippet``; ``earlier`` are the page's blocks above it."""
    language, code = snippet.language, snippet.code
    not_run = _rules()["languages"].get(language)
    if not_run:
        return Kind("skip", not_run)
    if language in CLIENT_LANGUAGES:
        return _classify_client(snippet, earlier)
    if looks_like_auth_file(code):
        return Kind("auth-file")
    if language == "json" or (language in ("", "text") and code.lstrip().startswith("{")):
        if looks_like_jwk(code):
            return Kind("jwk")
        if language == "json":
            return Kind("skip", "out of scope: JSON that is not a JWK (no kty, nor d, x and y)")
    if language == "ini" or (language in ("", "text", "bash") and looks_like_server_conf(code)
                             and not CONFIG_STRING.search(code)):
        return Kind("server-conf")
    if language == "bash":
        kind = classify_bash(code)
        if kind == "install":
            return Kind("install")
        if "jose" in code:
            return Kind("key-recipe")
    if CONFIG_STRING.search(code):
        return Kind("config")
    if language == "bash":
        return Kind("skip", "out of scope: a shell script that is neither an install, an auth file, the key recipe "
                    "nor a config string")
    return Kind("skip", f"out of scope: no check for {language or 'unlabelled'} code blocks")


def _classify_client(snippet: Snippet, earlier: list[Snippet]) -> Kind:
    code, language = snippet.code, snippet.language
    if language == "rust":  # rustdoc's hidden lines (`# use questdb::...`) are code, not comments
        fence = rust_fence_skip_reason(snippet.attrs)
        if fence:
            return Kind("skip", fence)
        code = re.sub(r"^([ \t]*)#(?: |$)", r"\1", code, flags=re.MULTILINE)
    elided = elisions(code)
    completed_by = _completing_blocks(snippet, earlier) if elided else []
    whole = "".join(s.code for s in completed_by) + code  # what would run
    found = transport_of(without_comment_lines(whole), language)
    if found is None:
        library = next((m.group(0) for regex in _rules()["library"]
                        if (m := regex.search(without_comment_lines(whole)))), None)
        if library:
            return Kind("skip", f"the transport is not in the code: it uses {library} with a config from elsewhere "
                        "(another block, an environment variable, a file)")
        if re.search(r"\bsender\s*\.", whole, re.IGNORECASE):
            return Kind("skip", "a fragment: it uses a sender made elsewhere (no client is constructed in it)")
        return Kind("skip", "not ILP/TCP: no ILP client or socket in the code")
    name, tcp, where = found
    if not tcp:
        return Kind("skip", f"not ILP/TCP: {name} ({where})", name)
    if elided and not completed_by:
        more = f" (and {len(elided) - 1} more)" if len(elided) > 1 else ""
        return Kind("skip", f"excerpt: {elided[0]}{more}; the page's earlier blocks do not complete it", name)
    auth = configures_auth(whole)
    if not auth:
        return Kind("skip", f"no authentication: {name} client ({where}) configures none", name)
    return Kind("client", f"{name} ({where}); authenticates ({auth})", name, completed_by)


def completed_code(kind: Kind, snippet: Snippet) -> str:
    """The code to run: the completing blocks, then the excerpt without its elision lines."""
    if not kind.completed_by:
        return snippet.code
    kept = [line for line in snippet.code.splitlines()
            if not any(regex.fullmatch(line.strip()) for regex in _rules()["elision_lines"])]
    return "".join(s.code.rstrip("\n") + "\n\n" for s in kind.completed_by) + "\n".join(kept) + "\n"


# --- Python excerpts ----------------------------------------------------------------------------------------

def _python_names(code: str) -> tuple[set[str], set[str]] | None:
    """(names used, names defined) by a Python block, or None when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    used, defined = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    return used, defined


def undefined_names(code: str) -> set[str]:
    """Names a Python block uses that it neither defines nor gets from the builtins."""
    names = _python_names(code)
    if names is None:
        return set()
    used, defined = names
    return used - defined - set(dir(builtins))


def _completing_blocks(snippet: Snippet, earlier: list[Snippet]) -> list[Snippet]:
    """The earlier Python blocks of the same tab that define every name the excerpt lacks, or []."""
    if snippet.language != "python":
        return []
    missing = undefined_names(snippet.code)
    if not missing:
        return []
    blocks = [s for s in earlier if s.language == "python" and s.tab == snippet.tab and _python_names(s.code)]
    defined = set().union(*(_python_names(s.code)[1] for s in blocks)) if blocks else set()
    return blocks if missing <= defined else []
