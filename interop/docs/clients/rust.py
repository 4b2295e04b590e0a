"""Rust snippets: the program rustdoc would compile (rust_source), the crates its paths name (rust_crates),
a Cargo project built the way a reader would (`cargo add`, `cargo fetch`, `cargo build`; prepare_rust), the
newest release of each older major (rust_older_majors) and the fence attributes that skip a snippet.

Every build shares one CARGO_TARGET_DIR (build/docs/cargo-target): a crate version compiled for one snippet
is reused by the next, so only the first snippet of a crate version pays the cold build. Each snippet is
its own package, named after its folder, so that two binaries never overwrite each other in that shared
folder; the built binary is copied into the snippet's folder, where its command stays valid after later
builds.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
import urllib.request
from pathlib import Path

from ...paths import DEFAULT_BUILD_DIR
from ..data import dependencies
from .common import INSTALL_TIMEOUT, Prepared, run
from .common import failed as _failed

CARGO_TARGET_DIR = DEFAULT_BUILD_DIR / "docs" / "cargo-target"
CRATES_INDEX = "https://index.crates.io/"  # crates.io's sparse index, the one cargo reads by default
INDEX_TIMEOUT = 60
BINARY = "snippet"  # the built program, copied into the snippet's folder

# --- rustdoc's view of a code block ----------------------------------------------------------------------

# What a lone `fn main` looks like once comments and literals are blanked out.
_MAIN = re.compile(r"\bfn\s+main\s*\(")
_CRATE_ATTR = re.compile(r"^\s*#!\[")
_EXTERN_CRATE = re.compile(r"^\s*(#\[[^\]]*\]\s*)*(pub\s+)?extern\s+crate\s+\w+")


def unhidden_lines(code: str) -> list[str]:
    """The block's lines as rustdoc compiles them: a line whose trimmed text starts with `# ` (or `#` and a
    tab) is a hidden line, kept without that prefix (and without its indentation); a lone `#` is an empty
    hidden line; a line starting with `##` shows (and compiles) as the same line with its first `##` made
    `#`. Every other line, `#[derive(...)]` and `#![...]` included, is kept as it is."""
    lines = []
    for line in code.splitlines():
        trimmed = line.strip()
        if trimmed.startswith("##"):
            lines.append(line.replace("##", "#", 1))
        elif trimmed.startswith(("# ", "#\t")):
            lines.append(trimmed[2:])
        elif trimmed == "#":
            lines.append("")
        else:
            lines.append(line)
    return lines


def rust_source(code: str) -> str:
    """The program rustdoc would compile for a code block (a doctest), as text for src/main.rs.

    Following rustdoc (the rustdoc book, "Documentation tests", pre-processing): hidden lines are unhidden
    (unhidden_lines); `#![allow(unused)]` comes first (rustdoc's default doctest attribute), then the
    block's crate attributes (`#![...]` lines, and the lines of one until its brackets close, before the
    first line of code) and its `extern crate` lines; then the rest, in its order. When the rest has no
    `fn main`, it becomes the body of one. When it ends with `(())` (rustdoc's test for a final
    `Ok::<(), E>(())` expression, which lets the block use `?`), the body goes into
    `fn _inner() -> Result<(), impl core::fmt::Debug>` and main unwraps its result, so an `Err` ends the
    program with a panic and exit code 101, as a failing doctest does."""
    lines = unhidden_lines(code)
    attributes, crates, rest = [], [], []
    pending: list[str] = []  # an attribute spread over several lines, until its brackets close
    for line in lines:
        if pending or (_CRATE_ATTR.match(line) and not _code_started(rest)):
            pending.append(line)
            if _balanced("\n".join(pending)):
                attributes += pending
                pending = []
        elif _EXTERN_CRATE.match(line):
            crates.append(line)
        else:
            rest.append(line)
    rest += pending
    body = "\n".join(rest).strip("\n")
    head = ["#![allow(unused)]", *attributes, *crates]
    if _MAIN.search(_blank_comments_and_literals(body)):
        program = body
    elif body.rstrip().endswith("(())"):
        program = f"fn main() {{ fn _inner() -> Result<(), impl core::fmt::Debug> {{\n{body}\n}} _inner().unwrap() }}"
    else:
        program = f"fn main() {{\n{body}\n}}"
    return "\n".join([*head, program]) + "\n"


def _code_started(rest: list[str]) -> bool:
    """True once a line of code (not blank, not only a comment) was seen: a `#![...]` after code stays
    where it is (inside a fn, it is that fn's inner attribute, not the crate's)."""
    text = _blank_comments_and_literals("\n".join(rest))
    return any(line.strip() for line in text.splitlines())


def _balanced(text: str) -> bool:
    stripped = _blank_comments_and_literals(text)
    return stripped.count("[") <= stripped.count("]")


def _blank_comments_and_literals(code: str) -> str:
    """The code with its comments, string literals (raw and byte strings too) and char literals replaced by
    spaces, newlines kept: what is left is only paths, keywords and punctuation. Lifetimes (`'a`) stay."""
    out = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("//", i):
            end = code.find("\n", i)
            end = n if end < 0 else end
        elif code.startswith("/*", i):
            end, depth = i + 2, 1
            while end < n and depth:
                if code.startswith("/*", end):
                    depth, end = depth + 1, end + 2
                elif code.startswith("*/", end):
                    depth, end = depth - 1, end + 2
                else:
                    end += 1
        elif (raw := re.match(r'b?r(#*)"', code[i:i + 260])) and not _ident_char(code, i - 1):
            closing = '"' + raw.group(1)
            end = code.find(closing, i + raw.end())
            end = n if end < 0 else end + len(closing)
        elif c == '"' or (c == "b" and code.startswith('b"', i) and not _ident_char(code, i - 1)):
            end = i + (2 if c == "b" else 1)
            while end < n and code[end] != '"':
                end += 2 if code[end] == "\\" else 1
            end = min(end + 1, n)
        elif c == "'" and (char := re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", code[i:])):
            end = i + char.end()
        else:
            out.append(c)
            i += 1
            continue
        out.append("".join(ch if ch == "\n" else " " for ch in code[i:end]))
        i = end
    return "".join(out)


def _ident_char(code: str, index: int) -> bool:
    return index >= 0 and (code[index].isalnum() or code[index] == "_")


# --- which crates a snippet needs --------------------------------------------------------------------------

_NOT_CRATES = {"std", "core", "alloc", "proc_macro", "test", "crate", "self", "super", "Self",
               "bool", "char", "str", "i8", "i16", "i32", "i64", "i128", "isize",
               "u8", "u16", "u32", "u64", "u128", "usize", "f32", "f64"}
_USE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]*);")
_EXTERN = re.compile(r"\bextern\s+crate\s+(\w+)(?:\s+as\s+(\w+))?\s*;")
_PATH_START = re.compile(r"(?<![\w:.])(?:::)?\s*([a-z_][a-z0-9_]*)\s*::(?!\s*<)")  # not a turbofish: f::<T>
_LOCAL_ITEM = re.compile(r"\b(?:mod|enum|struct|trait|type|union)\s+(\w+)")


def rust_crates(code: str) -> list[str]:
    """The crates.io crates a snippet needs, in the order first named: the first segment of each `use`
    path, each `extern crate`, and each path elsewhere that starts with a lowercase name that is neither
    the standard library, a primitive type, nor a name the snippet brings in itself (a `use`d name, a
    `mod`, an alias). An import name is mapped to its crate by dependencies.toml [rust.crates]
    (`questdb` -> `questdb-rs`); any other is its own crate name (crates.io treats `_` and `-` alike)."""
    text = _blank_comments_and_literals("\n".join(unhidden_lines(code)))
    names: list[str] = []
    local = {m.group(1) for m in _LOCAL_ITEM.finditer(text)}
    for match in _EXTERN.finditer(text):
        names.append(match.group(1))
        local.add(match.group(2) or match.group(1))
    for match in _USE.finditer(text):
        tree = match.group(1)
        first = re.match(r"\s*(?:::)?\s*(\w+)", tree)
        if first:
            names.append(first.group(1))
        local.update(re.findall(r"\w+", tree)[1:])  # every name a use brings in (and more: harmless)
    outside_uses = _USE.sub(" ", text)
    names += [m.group(1) for m in _PATH_START.finditer(outside_uses) if m.group(1) not in local]
    mapping = dependencies()["rust"]["crates"]
    crates: list[str] = []
    for name in names:
        if name in _NOT_CRATES:
            continue
        crate = mapping.get(name, name)
        if crate not in crates:
            crates.append(crate)
    return crates


# --- the fence's attributes -------------------------------------------------------------------------------

def rust_fence_skip_reason(attrs: dict) -> str | None:
    """A SKIPPED reason for the block's fence attributes, or None to run it. `compile_fail` says the block
    must not build (rustdoc checks that it fails): it is not a program to run. `no_run` is run (it is
    no_run only because rustdoc's tests have no server), and so are `ignore` and `should_panic`. A key such
    as "rust,compile_fail" (a comma-separated info string) counts word by word."""
    words = {word.strip() for key in attrs for word in key.split(",")}
    if "compile_fail" in words:
        return "the fence says compile_fail: the documentation shows code that must not build"
    return None


# --- building ------------------------------------------------------------------------------------------------

def major(version: str) -> str:
    """Cargo's compatibility key of a version: `7` for 7.2.1, `0.3` for 0.3.4, `0.0.1` for 0.0.1."""
    parts = version.split("-")[0].split("+")[0].split(".")
    for index, part in enumerate(parts):
        if part != "0" or index == len(parts) - 1:
            return ".".join(parts[:index + 1])
    return version


def prepare_rust(code: str, workdir: Path, pins: dict | None = None, target_dir: Path = CARGO_TARGET_DIR) -> Prepared:
    """A Cargo project in workdir (src/main.rs = rust_source(code)) with the crates the snippet names, built.

    `cargo add` resolves each crate's newest version (or the version in pins, {"questdb-rs": "4.0.5"}),
    as a reader's `cargo add` would; the manifest then pins that exact version, with the features
    dependencies.toml [rust.features] gives for its major (default features off), or its default features.
    `cargo fetch` downloads; `cargo build` compiles into the shared CARGO_TARGET_DIR. Returns the copied
    binary's command and {crate: version}, or FAILS TO INSTALL (cargo add or cargo fetch failed: the
    crate, version or download cannot be had) or FAILS TO BUILD (cargo build failed: detail is the first
    error's line, "error[E0432]: unresolved import ..."), with the command, its exit and its output's end."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "src").mkdir(exist_ok=True)
    (workdir / "src" / "main.rs").write_text(rust_source(code), encoding="utf-8")
    prepared = Prepared([str(workdir / BINARY)], workdir)
    settings = dependencies()["rust"]
    name = "snippet-" + hashlib.sha256(str(workdir.resolve()).encode()).hexdigest()[:10]
    (workdir / "Cargo.lock").unlink(missing_ok=True)  # resolve afresh: newest means today's newest
    _write_manifest(workdir, name, settings["edition"], {})
    env = {"CARGO_TARGET_DIR": str(target_dir), "CARGO_TERM_COLOR": "never", "CARGO_INCREMENTAL": "0"}
    crates = rust_crates(code)
    if crates:
        specs = [f"{crate}@={pins[crate]}" if pins and crate in pins else crate for crate in crates]
        added = run(["cargo", "add", *specs], workdir, INSTALL_TIMEOUT, env)
        if not added.ok:
            return _failed(prepared, "FAILS TO INSTALL", added, f"cargo add {' '.join(specs)}")
        # cargo add writes each crate under its crates.io name (serde-json asked, serde_json written).
        for crate, spec in tomllib.loads((workdir / "Cargo.toml").read_text())["dependencies"].items():
            prepared.versions[crate] = (spec if isinstance(spec, str) else spec["version"]).lstrip("=^~")
        _write_manifest(workdir, name, settings["edition"], prepared.versions, settings["features"])
        fetched = run(["cargo", "fetch"], workdir, INSTALL_TIMEOUT, env)
        if not fetched.ok:
            return _failed(prepared, "FAILS TO INSTALL", fetched, "cargo fetch")
        extra = _companion_features(workdir, env, prepared.versions, crates, settings["companions"])
        if extra:
            _write_manifest(workdir, name, settings["edition"], prepared.versions, settings["features"], extra)
        for crate, version in prepared.versions.items():
            chosen = settings["features"].get(crate, {}).get(major(version))
            if chosen is not None:
                prepared.notes.append(f"{crate} {version} built with its default features off and only "
                                      f"{', '.join(chosen) or 'none'} (dependencies.toml [rust.features])")
            if extra.get(crate):
                prepared.notes.append(f"{crate} {version} built with {', '.join(extra[crate])} too: the snippet uses "
                                      "the crate that feature integrates (dependencies.toml [rust.companions])")
    built = run(["cargo", "build", "--bin", name], workdir, INSTALL_TIMEOUT, env)
    if not built.ok:
        failure = _failed(prepared, "FAILS TO BUILD", built, "cargo build")
        first = first_error(built.stderr)
        if first:
            failure.detail = f"cargo build: {first[0]}"
            failure.evidence += "\nthe first error:\n" + "\n".join(first)
        return failure
    shutil.copy2(Path(target_dir) / "debug" / name, workdir / BINARY)
    return prepared


def _companion_features(workdir: Path, env: dict, versions: dict, used: list[str], companions: dict) -> dict:
    """{dependency: [features]} to turn on because the snippet uses the crate they integrate (chrono for
    questdb-rs's chrono-timestamp, whose name changed across majors): the first name of
    dependencies.toml [rust.companions] that the resolved version has, as `cargo metadata` lists them."""
    wanted = [names for crate, names in companions.items() if crate in used]
    if not wanted:
        return {}
    listed = run(["cargo", "metadata", "--format-version", "1", "--offline"], workdir, INSTALL_TIMEOUT, env)
    if not listed.ok:
        return {}
    extra: dict[str, list[str]] = {}
    for package in json.loads(listed.stdout)["packages"]:
        if versions.get(package["name"]) != package["version"]:
            continue
        for names in wanted:
            found = next((n for n in names if n in package["features"]), None)
            if found:
                extra.setdefault(package["name"], []).append(found)
    return extra


def _write_manifest(workdir: Path, name: str, edition: str, versions: dict, features: dict | None = None,
                    extra: dict | None = None) -> None:
    lines = ["[package]", f'name = "{name}"', 'version = "0.0.0"', f'edition = "{edition}"', "publish = false",
             "", "[dependencies]"]
    for crate, version in versions.items():
        chosen = (features or {}).get(crate, {}).get(major(version))
        more = (extra or {}).get(crate, [])
        if chosen is None and not more:
            lines.append(f'{crate} = "={version}"')
        elif chosen is None:
            lines.append(f'{crate} = {{ version = "={version}", features = {json.dumps(more)} }}')
        else:
            lines.append(f'{crate} = {{ version = "={version}", default-features = false, '
                         f"features = {json.dumps(chosen + more)} }}")
    lines += ["", "[workspace]", ""]  # its own workspace, whatever folder it sits in
    (workdir / "Cargo.toml").write_text("\n".join(lines), encoding="utf-8")


_ERROR = re.compile(r"^error(\[E\d+\])?: ")
_SUMMARY = re.compile(r"^error: (could not compile|aborting due to)")


def first_error(stderr: str) -> list[str]:
    """The first error of cargo's human output: its `error...:` line, then its lines up to the next blank
    one (the location and the code it points at). [] when there is none."""
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        if _ERROR.match(line) and not _SUMMARY.match(line):
            block = [line]
            for following in lines[index + 1:index + 16]:
                if not following.strip():
                    break
                block.append(following)
            return block
    return []


# --- older majors ----------------------------------------------------------------------------------------------

def index_path(crate: str) -> str:
    """Where a crate's entry lives in a crates.io index: 1/NAME, 2/NAME, 3/N/NAME, or AB/CD/NAME (lowercase)."""
    name = crate.lower()
    if len(name) <= 2:
        return f"{len(name)}/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[:2]}/{name[2:4]}/{name}"


def rust_older_majors(crate: str, newest: str) -> list[str]:
    """The newest release of each major (cargo's compatibility key, `major`) below `newest`'s, newest first.

    Read from crates.io's sparse index (https://index.crates.io/, the index cargo reads by default; one
    JSON line per published version, `index_path` gives the file), fetched once with a timeout: yanked
    versions and pre-releases are left out, since cargo does not pick them for a plain requirement either.
    [] when the index cannot be read."""
    try:
        with urllib.request.urlopen(CRATES_INDEX + index_path(crate), timeout=INDEX_TIMEOUT) as response:
            text = response.read().decode("utf-8")
    except OSError:
        return []
    return older_majors(text, newest)


def older_majors(index_text: str, newest: str) -> list[str]:
    """From a crate's index entry (JSON lines with `vers` and `yanked`): the newest release of each major
    below `newest`'s, newest first."""
    releases = []
    for line in index_text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if not entry.get("yanked") and re.fullmatch(r"\d+\.\d+\.\d+", entry["vers"]):
            releases.append(tuple(int(part) for part in entry["vers"].split(".")))
    ceiling = _key(major(newest))
    best: dict[str, tuple] = {}
    for release in releases:
        key = major(".".join(map(str, release)))
        if _key(key) < ceiling and release > best.get(key, (-1,)):
            best[key] = release
    return [".".join(map(str, release)) for release in sorted(best.values(), reverse=True)]


def _key(major_text: str) -> tuple:
    parts = [int(part) for part in major_text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
