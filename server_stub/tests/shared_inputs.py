"""Where the project's shared test inputs live: ../shared beside the repository, or $ILP_SHARED_DIR."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """Test inputs only: the stub itself never needs this folder."""
    return Path(os.environ.get("ILP_SHARED_DIR", REPO.parent / "shared"))
