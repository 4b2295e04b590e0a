"""The docs check's JavaScript and TypeScript snippets (interop/docs/clients/javascript.py, typescript.py):
each module system runs as a reader would run it, TypeScript's types are stripped (a syntax error is
FAILS TO BUILD), the older majors come from the real npm registry, and installs run with scripts off
and say whose scripts were skipped. The snippets and packages here are written for these tests.

The TypeScript stripper is installed once into build/docs/tools (shared with `nox -s docs`); the tests
that install @questdb/nodejs-client (newest, and 3.0.0 pinned) and ask for its versions need the npm
registry."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path

import pytest
from server_stub.records import by_connection

from interop.docs.clients.common import run
from interop.docs.clients.javascript import (
    javascript_dependencies,
    javascript_older_majors,
    packages_with_install_scripts,
    prepare_javascript,
)
from interop.paths import AUTH_DB, DEFAULT_JWK
from server_stub import run_stub


def _run(code: str, workdir: Path, **options) -> tuple[object, object]:
    """(the Prepared, the Finished of one run of it)."""
    prepared = prepare_javascript(textwrap.dedent(code), workdir, **options)
    assert prepared.command, f"{prepared.verdict}: {prepared.detail}\n{prepared.evidence}"
    return prepared, run(prepared.command, prepared.cwd, 60, prepared.env)


# --- module systems -------------------------------------------------------------------------------

def test_an_es_module_runs_as_one(tmp_path):
    prepared, done = _run("""
        import { arch } from "node:os"
        export const where = import.meta.url
        console.log(typeof require, arch().length > 0, where.endsWith("snippet.mjs"))
    """, tmp_path)
    assert prepared.command == ["node", "snippet.mjs"] and prepared.notes == []
    assert (done.exit_code, done.stdout) == (0, "undefined true true\n"), done.stderr


def test_a_commonjs_snippet_runs_as_commonjs(tmp_path):
    prepared, done = _run("""
        const os = require("os")
        module.exports = { arch: os.arch() }
        console.log(require.main === module, typeof module.exports.arch)
    """, tmp_path)
    assert prepared.command == ["node", "snippet.js"] and prepared.notes == []
    assert (done.exit_code, done.stdout) == (0, "true string\n"), done.stderr


def test_a_commonjs_snippet_with_a_top_level_await_runs_as_a_module_with_require(tmp_path):
    # As a .js file node fails on it: require is not defined once it is reparsed as a module.
    prepared, done = _run("""
        const path = require("path")
        const waited = await new Promise((resolve) => setTimeout(() => resolve("waited"), 10))
        console.log(waited, path.basename(__filename), path.basename(__dirname) === path.basename(process.cwd()))
    """, tmp_path)
    assert prepared.command == ["node", "snippet.mjs"]
    assert any("createRequire" in note and "require, __filename, __dirname" in note for note in prepared.notes)
    assert (done.exit_code, done.stdout) == (0, "waited snippet.mjs true\n"), done.stderr
    # the definitions are on the snippet's first line: an error's line number is the snippet's own
    _prepared, failing = _run("const x = require('path')\nawait null\nthrow new Error('line three')\n",
                              tmp_path / "lines")
    assert failing.exit_code == 1 and "snippet.mjs:3" in failing.stderr, failing.stderr


def test_mixed_import_and_require_runs_and_an_own_create_require_is_left_alone(tmp_path):
    prepared, done = _run("""
        import { strict as assert } from "node:assert"
        const { sep } = require("path")
        assert.equal(typeof sep, "string")
        console.log("mixed")
    """, tmp_path / "mixed")
    assert prepared.command == ["node", "snippet.mjs"] and any("createRequire" in n for n in prepared.notes)
    assert (done.exit_code, done.stdout) == (0, "mixed\n"), done.stderr
    prepared, done = _run("""
        import { createRequire } from "node:module"
        const require = createRequire(import.meta.url)
        console.log(typeof require("path").join)
    """, tmp_path / "own")
    assert prepared.notes == [] and (done.exit_code, done.stdout) == (0, "function\n"), done.stderr


# --- TypeScript -----------------------------------------------------------------------------------

TYPED = """
    interface Row { table: string; value: number }
    type Rows = Array<Row>
    enum Unit { Ms = "ms" }
    function total<T extends Row>(rows: T[]): number { return rows.reduce((sum, r) => sum + r.value, 0) }
    const rows: Rows = [{ table: "t", value: 1 }, { table: "t", value: 2 } as Row]
    const unchecked: number = "not a number" as unknown as number  // fine for a stripper
    const wrong: string = 42  // a type error: not a failure, readers' strippers do not check types
    console.log(total(rows), (unchecked as unknown as string).length, Unit.Ms, typeof wrong)
"""


def test_typescript_types_interfaces_and_casts_are_stripped_and_it_runs(tmp_path):
    prepared, done = _run(TYPED, tmp_path, typescript=True)
    assert (done.exit_code, done.stdout) == (0, "3 12 ms number\n"), done.stderr
    stripped = (tmp_path / Path(prepared.command[1])).read_text()
    assert "interface" not in stripped and " as " not in stripped and ": number" not in stripped
    assert any("types stripped by typescript" in note for note in prepared.notes)


def test_a_typescript_syntax_error_fails_to_build_with_its_key_line(tmp_path):
    prepared = prepare_javascript("interface Row { table: string }\nconst row: Row = { table: };\nlet = ;\n",
                                  tmp_path, typescript=True)
    assert prepared.command is None and prepared.verdict == "FAILS TO BUILD"
    assert prepared.detail.endswith("snippet.ts(2,27): error TS1109: Expression expected."), prepared.detail
    assert "snippet.ts(3," in prepared.evidence  # every syntax error is in the evidence


def test_a_typescript_snippet_with_the_node_client_authenticates_against_the_stub(tmp_path):
    jwk = json.loads(DEFAULT_JWK.read_text())
    with run_stub(AUTH_DB) as stub:
        code = f"""
            import {{ Sender }} from "@questdb/nodejs-client";

            interface Trade {{ symbol: string; price: number }}

            async function run(): Promise<void> {{
              const sender: Sender = await Sender.fromConfig(
                `tcp::addr=127.0.0.1:{stub.port};username={jwk["kid"]};token={jwk["d"]}`
              );
              await sender.connect();
              const trade = {{ symbol: "BTC-USD", price: 39269.98 }} as Trade;
              await sender.table("trades").symbol("symbol", trade.symbol).floatColumn("price", trade.price)
                .at(Date.now(), "ms");
              await sender.flush();
              await sender.close();
            }}

            run().catch((error: Error) => {{ console.error(error); process.exit(1); }});
        """
        prepared, done = _run(code, tmp_path, typescript=True)
        assert done.exit_code == 0, done.stderr
        stub.wait_for_rows(1)
        conns = list(by_connection(stub.events()).values())
    assert int(prepared.versions["@questdb/nodejs-client"].split(".")[0]) >= 4  # the newest
    assert [conn.accepted for conn in conns] == [True], [conn.auth for conn in conns]
    assert [row["table"] for row in conns[0].rows] == ["trades"]


# --- versions -------------------------------------------------------------------------------------

def test_older_majors_come_from_the_registry_newest_first():
    older = javascript_older_majors("typescript", "5.0.0")
    assert older[:3] == ["4.9.5", "3.9.10", "2.9.2"]  # the last releases of majors that are done
    majors = [int(v.split(".")[0]) for v in older]
    assert majors == sorted(set(majors), reverse=True) and max(majors) == 4
    assert "3.0.0" in javascript_older_majors("@questdb/nodejs-client", "4.0.0")
    assert javascript_older_majors("@questdb/nodejs-client", "1.0.0") == []


def test_a_pin_installs_that_version(tmp_path):
    prepared = prepare_javascript('const { Sender } = require("@questdb/nodejs-client")\n', tmp_path,
                                  pins={"@questdb/nodejs-client": "3.0.0"})
    assert prepared.command, prepared.detail
    assert prepared.versions == {"@questdb/nodejs-client": "3.0.0"}


# --- install scripts ------------------------------------------------------------------------------

def _package_tarball(folder: Path, name: str, files: dict[str, str]) -> Path:
    """An npm package tarball (package/...), as npm pack makes one, written by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / f"{name}-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return tarball


SCRIPTED = {
    "package.json": json.dumps({"name": "docs-scripted", "version": "1.0.0", "main": "index.js",
                                "scripts": {"postinstall": "node -e \"require('fs').writeFileSync('ran', '')\""}}),
    "index.js": "module.exports = require('fs').existsSync(__dirname + '/ran') ? 'scripts ran' : 'scripts off'\n",
}


def test_install_scripts_are_off_first_and_the_packages_that_have_them_are_recorded(tmp_path):
    tarball = _package_tarball(tmp_path / "packages", "docs-scripted", SCRIPTED)
    code = 'console.log(require("docs-scripted"))\n'
    pins = {"docs-scripted": f"file:{tarball}"}
    prepared, done = _run(code, tmp_path / "off", pins=pins)
    assert prepared.skipped_scripts == ["docs-scripted"]
    assert any("--ignore-scripts" in note and "docs-scripted" in note for note in prepared.notes)
    assert done.stdout == "scripts off\n", done.stderr
    # the runner's second attempt, with scripts on
    prepared, done = _run(code, tmp_path / "on", pins=pins, scripts=True)
    assert prepared.skipped_scripts == [] and any("install scripts run" in note for note in prepared.notes)
    assert done.stdout == "scripts ran\n", done.stderr


def test_which_installed_packages_declare_install_scripts(tmp_path):
    def package(folder: str, manifest: dict, *extra: str) -> str:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "package.json").write_text(json.dumps(manifest))
        for name in extra:
            (tmp_path / folder / name).write_text("{}")
        return folder

    folders = [package("node_modules/plain", {"name": "plain", "scripts": {"test": "x", "prepare": "x"}}),
               package("node_modules/gyp", {"name": "gyp"}, "binding.gyp"),
               package("node_modules/@scope/pre", {"name": "@scope/pre", "scripts": {"preinstall": "x"}}),
               package("node_modules/plain/node_modules/deep", {"name": "deep", "scripts": {"install": "x"}})]
    lock = {"name": "x", "packages": {"": {}, **{folder: {} for folder in folders}}}
    (tmp_path / "node_modules" / ".package-lock.json").write_text(json.dumps(lock))
    assert packages_with_install_scripts(tmp_path) == ["@scope/pre", "deep", "gyp"]
    (tmp_path / "node_modules" / ".package-lock.json").unlink()  # without npm's record: the top-level folders
    assert packages_with_install_scripts(tmp_path) == ["@scope/pre", "gyp"]


@pytest.mark.parametrize(("code", "expected"), [
    ('import x from "a"\nconst y = require("b/sub")\nimport "c"\nexport * from "@d/e/f"\nawait import("g")\n',
     ["a", "b", "c", "@d/e", "g"]),
    ("important = 1\nexports.x = require('node:fs')\n", []),
])
def test_the_packages_a_snippet_uses(code, expected):
    assert javascript_dependencies(code) == expected


# --- pip: the same hygiene for Python snippets (clients/python.py), its commands recorded -------------------

def test_pip_installs_wheels_only_first_and_says_when_it_fell_back(tmp_path, monkeypatch):
    from interop.docs.clients import python as python_client
    from interop.process import Finished

    commands: list[list[str]] = []
    has_wheel = {"docs-wheel": True, "docs-sdist": False}

    def fake_run(cmd, cwd, timeout, env=None):
        commands.append(cmd)
        if cmd[1:3] == ["-m", "venv"]:
            Path(cmd[3], "bin").mkdir(parents=True)
            Path(cmd[3], "bin", "python").touch()
        refused = "--only-binary=:all:" in cmd and not has_wheel[cmd[-1]]
        stderr = f"ERROR: No matching distribution found for {cmd[-1]}" if refused else ""
        return Finished(cmd, 1 if refused else 0, "1.0\n", stderr, 0.1, timeout)

    monkeypatch.setattr(python_client, "run", fake_run)
    monkeypatch.setattr(python_client, "python_distributions", lambda code: [code])
    wheel = python_client.prepare_python("docs-wheel", tmp_path / "a", tmp_path / "venvs")
    pip_calls = [c[5:] for c in commands if "pip" in c]
    assert pip_calls == [["--disable-pip-version-check", "--only-binary=:all:", "docs-wheel"]]
    assert wheel.notes == [] and wheel.command

    commands.clear()
    sdist = python_client.prepare_python("docs-sdist", tmp_path / "b", tmp_path / "venvs")
    pip_calls = [c[5:] for c in commands if "pip" in c]
    assert pip_calls == [["--disable-pip-version-check", "--only-binary=:all:", "docs-sdist"],
                         ["--disable-pip-version-check", "docs-sdist"]]
    assert sdist.command and len(sdist.notes) == 1
    assert "No matching distribution found for docs-sdist" in sdist.notes[0] and "setup.py" in sdist.notes[0]
    # a later run reuses the venv (wheels-only now finds it installed) and still says how it was installed
    has_wheel["docs-sdist"] = True
    again = python_client.prepare_python("docs-sdist", tmp_path / "c", tmp_path / "venvs")
    assert again.notes == sdist.notes
