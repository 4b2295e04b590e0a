"""The stub's own command line under pyinstrument (a bench-time tool, not a stub dependency).

    python -m interop.bench.profiled_stub --out PREFIX -- serve --auth-db FILE ...

Runs `server_stub.cli.main(ARGS)` in this process with pyinstrument sampling every millisecond, and on
exit (SIGTERM, as for the stub) writes PREFIX.pyisession (the session, for interop.bench.profiling and
`pyinstrument --load`) and PREFIX.txt (pyinstrument's call tree, wall time). Stdout stays the stub's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.bench.profiled_stub", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="prefix of the .pyisession and .txt files")
    parser.add_argument("--interval", type=float, default=0.001, help="seconds between samples")
    parser.add_argument("stub_args", nargs=argparse.REMAINDER, help="-- then the stub's arguments")
    args = parser.parse_args(argv)
    stub_args = args.stub_args[1:] if args.stub_args[:1] == ["--"] else args.stub_args
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("profiled_stub: pyinstrument is not installed (pip install pyinstrument)", file=sys.stderr)
        return 3
    from server_stub.cli import main as stub_main

    profiler = Profiler(interval=args.interval, async_mode="disabled")
    profiler.start()
    try:
        code = stub_main(stub_args)
    finally:
        session = profiler.stop()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        session.save(str(args.out.with_suffix(".pyisession")))
        args.out.with_suffix(".txt").write_text(profiler.output_text(unicode=False, color=False), "utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
