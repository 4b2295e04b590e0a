"""What every check of a non-program block returns, and what several checks share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COORDINATE_BYTES = 32  # a P-256 coordinate or private scalar
COMMENT = re.compile(r"(?:^|(?<=\s))#.*")  # a shell or auth-file comment, to the end of the line


@dataclass
class CheckResult:
    verdict: str  # "PASS", "FAILS TO RUN", "REJECTED" or "SKIPPED" (with its reason first in the evidence)
    evidence: str  # first line: the summary; then what was checked and what was found
    notes: list[str] = field(default_factory=list)  # what a docs maintainer should know, even on PASS
    substitutions: list[str] = field(default_factory=list)  # "from -> to (why)", every change before running
