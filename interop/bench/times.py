"""Time to verdict: the wall time of the run a developer waits for.

- warm interop: `python -m interop` with the build folder already built (--skip-interop leaves it out).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..paths import REPO
from ..process import run

INTEROP_TIMEOUT = 600.0


def interop_warm(args, out: Path) -> dict:
    cmd = [sys.executable, "-m", "interop", "--build-dir", str(args.build_dir.resolve()), *args.interop_arg]
    log = out / "interop.log"
    done = run(cmd, REPO, args.interop_timeout)  # its own process group: the stubs and examples it started go too
    log.write_text(done.stdout + done.stderr, "utf-8")
    if done.exit_code is None:
        raise RuntimeError(f"`python -m interop` did not finish within {args.interop_timeout:g} s (log: {log})")
    summary = re.findall(r"^interop: \d+ passed, \d+ failed.*$", done.stdout, re.MULTILINE)
    figures = {"seconds": round(done.seconds, 1), "exit_code": done.exit_code, "summary": summary[-1] if summary else None,
               "command": " ".join(["python", *cmd[1:]]), "log": str(log)}
    print(f"interop: {done.seconds:.1f} s wall, exit {done.exit_code} ({figures['summary']})", flush=True)
    return figures
