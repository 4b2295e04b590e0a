"""TypeScript snippets: their types stripped by the pinned `typescript` package (dependencies.toml,
[javascript] stripper), so that node can run the JavaScript that is left (javascript.prepare_javascript
with typescript=True does the rest).

The stripper is TypeScript's own `transpileModule`: one file at a time, no type checker. So a type
error is not a failure (a reader's tsx, ts-node --transpile-only or esbuild do not check types
either), and only what TypeScript's parser rejects, a syntax error, is: FAILS TO BUILD with its
`snippet.ts(LINE,COL): error TS....` line. `module: preserve` keeps `import` as `import` and turns
`import x = require("y")` into `const x = require("y")`, so the JavaScript has the module system the
snippet was written in.

The package is installed once into a tools folder (build/docs/tools/typescript-VERSION by default),
with --ignore-scripts, under a temporary name renamed into place: concurrent runs never see half an
install.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

from ...paths import DEFAULT_BUILD_DIR
from ...process import Finished
from ..data import dependencies
from .common import INSTALL_TIMEOUT, run

TOOLS = DEFAULT_BUILD_DIR / "docs" / "tools"  # the default tools folder, kept between runs
STRIP_TIMEOUT = 60

# Run by node as `node strip.cjs IN.ts OUT.js`: writes OUT.js, or prints TypeScript's syntax errors and exits 1.
_STRIP_SCRIPT = """\
const fs = require("fs");
const path = require("path");
const ts = require(path.join(__dirname, "node_modules", "typescript"));
const [input, output] = process.argv.slice(2);
const result = ts.transpileModule(fs.readFileSync(input, "utf8"), {
  fileName: path.basename(input),
  reportDiagnostics: true,
  compilerOptions: { module: ts.ModuleKind.Preserve, target: ts.ScriptTarget.ESNext, sourceMap: false },
});
const errors = (result.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
if (errors.length) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => "\\n" };
  process.stderr.write(ts.formatDiagnostics(errors, host));
  process.exit(1);
}
fs.writeFileSync(output, result.outputText);
"""


def stripper_version() -> str:
    """The pinned version of the `typescript` npm package (dependencies.toml, [javascript] stripper)."""
    return dependencies()["javascript"]["stripper"]["typescript"]


def install_stripper(tools: Path | None = None) -> tuple[Path | None, Finished | None]:
    """(the strip script, None) once `typescript` at the pinned version is in `tools`; (None, the failed
    npm install) when it cannot be installed. Installed once, with --ignore-scripts."""
    version = stripper_version()
    folder = (tools or TOOLS) / f"typescript-{version}"
    if _installed(folder, version):
        return folder / "strip.cjs", None
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}")  # snippets install at once
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "package.json").write_text('{"private": true}\n')
    done = run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", f"typescript@{version}"],
               staging, INSTALL_TIMEOUT)
    if not done.ok:
        shutil.rmtree(staging, ignore_errors=True)
        return None, done
    (staging / "strip.cjs").write_text(_STRIP_SCRIPT, encoding="utf-8")
    if not _installed(folder, version):  # else another run put its own install in place meanwhile: keep that
        shutil.rmtree(folder, ignore_errors=True)  # a broken install
        try:
            staging.rename(folder)
        except OSError:  # another run renamed its install into place first
            pass
    shutil.rmtree(staging, ignore_errors=True)
    return folder / "strip.cjs", None


def _installed(folder: Path, version: str) -> bool:
    """The folder holds `typescript` at `version` and this module's strip script."""
    manifest = folder / "node_modules" / "typescript" / "package.json"
    try:
        return ((folder / "strip.cjs").read_text() == _STRIP_SCRIPT  # this module's script, not an older one
                and json.loads(manifest.read_text())["version"] == version)
    except (OSError, ValueError, KeyError):
        return False


def strip_types(script: Path, source: Path, target: Path) -> Finished:
    """Write `target`, the JavaScript of the TypeScript file `source` (types stripped, nothing checked),
    with the strip script of install_stripper. Not ok: TypeScript's syntax errors are on stderr."""
    return run(["node", str(script), source.name, target.name], source.parent, STRIP_TIMEOUT)
