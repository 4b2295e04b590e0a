"""One run of the docs check over its pages, overlapped within the machine's cores.

- The pages are extracted and their blocks classified in this thread (milliseconds), one page after
  another, so that their lines come in page order.
- Client snippets, of every page at once, are checked SNIPPET_WORKERS at a time, each on a seat of its
  own (seats.py): while one installs or builds (pip, npm, go, cargo, mvn), the others repeat against
  their stubs. A snippet's own attempts stay in order (runner.py: each depends on the one before).
  Snippets that cannot be moved off 9009 take turns on it (the seat's lock).
- The other blocks (auth files, JWKs, server.conf, recipes, install lines) are checked in this thread
  meanwhile.
- As soon as a client snippet's attempts are done, its runnable attempts go under the faults (faults.py),
  FAULT_WORKERS seats at a time: one run after another on a seat, the seats' runs overlapping. Those
  of the snippets on the documented port wait until every attempt is done and its stub is retired
  (seats.py), since each of their runs rebinds 9009.

Results come back in page and block order, whatever order they finished in.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .checks import auth_keys_on_page
from .classify import classify
from .extract import extract_page
from .faults import FaultRow, run_snippet_faults, runnable
from .repeat import Verdict
from .runner import Context, PageResult, SnippetResult, check_snippet, starting_line, workdir_of

CORES = os.cpu_count() or 2
# A snippet's repetitions keep about one core busy (node and python start-up, the in-process stub
# verifying); its installs mostly wait on the network or a compiler. CORES + 3 keeps both busy, and for
# today's pages lets every client snippet start at once.
SNIPPET_WORKERS = CORES + 3
FAULT_WORKERS = 4 * CORES  # a fault run mostly waits: on a delayed or missing challenge, or a timeout


def check_pages(paths: list[Path], ctx: Context, faults: dict | None) -> tuple[list[PageResult], list[FaultRow]]:
    """Every page's verdicts (in page order) and, with `faults` (faults.toml), the robustness rows of the
    client snippets that run."""
    pages, pending = [], []
    with ThreadPoolExecutor(SNIPPET_WORKERS, "snippet") as snippets, ThreadPoolExecutor(FAULT_WORKERS, "fault") as fault_pool:
        fault_jobs: list[Future] = []
        documented: list[tuple[str, SnippetResult]] = []  # their fault runs wait for the documented port

        def under_faults(page_name: str, result: SnippetResult) -> None:
            fault_jobs.append(fault_pool.submit(run_snippet_faults, page_name, result, faults, ctx.seats, ctx.clock,
                                                ctx.progress))

        def client(page, snippet, kind, page_keys) -> list[Verdict]:
            ctx.progress.line(starting_line(page, snippet, kind))
            began = time.perf_counter()
            verdicts = check_snippet(snippet, kind, page_keys, workdir_of(page, snippet, ctx), ctx)
            ctx.progress.step("client snippets", f"{page.name} #{snippet.index}")
            ctx.progress.line(done_line(page.name, snippet.index, verdicts, time.perf_counter() - began))
            result = SnippetResult(snippet, verdicts)
            if faults is not None and runnable(result):
                if all(v.seat.own for v in runnable(result)):
                    under_faults(page.name, result)
                else:
                    documented.append((page.name, result))
            return verdicts

        with ctx.clock.phase("extraction"):
            extracted = [extract_page(path) for path in paths]
        kinds = [[classify(s, page.snippets[:i]) for i, s in enumerate(page.snippets)] for page in extracted]
        ctx.progress.phase("client snippets", sum(k.kind == "client" for page in kinds for k in page))
        for page, page_kinds in zip(extracted, kinds, strict=True):
            for note in page.notes:  # what the extraction could not read, and where snippets came from
                ctx.progress.line(f"docs: {page.name}: {note}")
            page_keys = auth_keys_on_page([s.code for s in page.snippets])
            for snippet, kind in zip(page.snippets, page_kinds, strict=True):
                if kind.kind == "client":
                    pending.append(snippets.submit(client, page, snippet, kind, page_keys))
        for page, page_kinds in zip(extracted, kinds, strict=True):  # the rest, here, while the clients run
            page_keys = auth_keys_on_page([s.code for s in page.snippets])
            results: list[SnippetResult | Future] = []
            for snippet, kind in zip(page.snippets, page_kinds, strict=True):
                if kind.kind == "client":
                    results.append(pending.pop(0))
                    continue
                ctx.progress.line(starting_line(page, snippet, kind))
                results.append(SnippetResult(snippet, check_snippet(snippet, kind, page_keys,
                                                                    workdir_of(page, snippet, ctx), ctx)))
            pages.append((page, results))
        done = [PageResult(page, [r if isinstance(r, SnippetResult) else _collected(r, snippet)
                                  for r, snippet in zip(results, page.snippets, strict=True)])
                for page, results in pages]
        # every attempt is done: the documented port's fault runs may take 9009 in turn
        ctx.seats.retire_documented()
        for page_name, result in documented:
            under_faults(page_name, result)
        rows = [row for job in fault_jobs for row in _fault_rows(job)]
    order = {(page.page.name, s.snippet.index): n for n, (page, s) in
             enumerate((p, s) for p in done for s in p.snippets)}
    rows.sort(key=lambda row: order[(row.page, row.index)])
    return done, rows


def done_line(page: str, index: int, verdicts: list[Verdict], seconds: float) -> str:
    """'docs: done 001.txt #10 in 62 s: newest FAILS TO RUN, older major PASS (820 runs, stopped on evidence)'."""
    shown = [f"{v.label} {v.verdict}" + (f" ({v.runs} runs, stopped on {v.stopped})" if v.runs > 1 else "")
             for v in verdicts]
    return f"docs: done {page} #{index} in {seconds:.0f} s: {', '.join(shown)}"


def _collected(job: Future, snippet) -> SnippetResult:
    """The snippet's result; a check that raised becomes a FAILS TO RUN verdict of the harness's own,
    with its traceback (the other snippets still count)."""
    try:
        return SnippetResult(snippet, job.result())
    except Exception:  # noqa: BLE001 (reported as the snippet's verdict)
        return SnippetResult(snippet, [Verdict("newest", "FAILS TO RUN", "the docs check itself failed on this snippet",
                                               traceback.format_exc())])


def _fault_rows(job: Future) -> list[FaultRow]:
    try:
        return job.result()
    except Exception:  # noqa: BLE001 (the harness's own error: printed, the other rows still count)
        print(f"docs: a fault run failed in the harness:\n{traceback.format_exc()}", flush=True)
        return []
