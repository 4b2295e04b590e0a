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
  FAULT_WORKERS seats at a time: one run after another on a seat, the seats' runs overlapping.

Results come back in page and block order, whatever order they finished in.
"""

from __future__ import annotations

import os
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

        def client(page, snippet, kind, page_keys) -> list[Verdict]:
            ctx.progress.line(starting_line(page, snippet, kind))
            verdicts = check_snippet(snippet, kind, page_keys, workdir_of(page, snippet, ctx), ctx)
            ctx.progress.step("client snippets", f"{page.name} #{snippet.index}")
            result = SnippetResult(snippet, verdicts)
            if faults is not None and runnable(result):
                fault_jobs.append(fault_pool.submit(run_snippet_faults, page.name, result, faults, ctx.seats,
                                                    ctx.clock, ctx.progress))
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
        # every client is done, so every fault job has been submitted
        rows = [row for job in fault_jobs for row in _fault_rows(job)]
    order = {(page.page.name, s.snippet.index): n for n, (page, s) in
             enumerate((p, s) for p in done for s in p.snippets)}
    rows.sort(key=lambda row: order[(row.page, row.index)])
    return done, rows


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
