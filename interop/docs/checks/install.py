"""Install blocks: which package managers they use, and whether those fit the tab's platform. Not run."""

from __future__ import annotations

import re
import shutil

from ..data import conf_keys as _data  # known_conf_keys.toml: platforms and their package managers
from .auth_file import looks_like_auth_file
from .key_recipe import TOOLS
from .result import COMMENT, CheckResult

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
        line = COMMENT.sub("", line).strip()
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
