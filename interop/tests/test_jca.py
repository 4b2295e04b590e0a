"""The recorded JDK verdicts (server_stub/tests/data/wycheproof_jca.json) are what the JDK says today:
the Java program runs again over the Wycheproof vectors and must give the very same verdicts."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from interop.jca.main import VERDICTS, ground_truth

VECTORS = Path(os.environ.get("ILP_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared")) / "vectors" / "wycheproof"


@pytest.mark.skipif(shutil.which("java") is None, reason="the JDK's verdicts need `java` on PATH")
@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"no Wycheproof vectors at {VECTORS} (set ILP_SHARED_DIR)")
def test_the_recorded_jdk_verdicts_are_current():
    recorded = json.loads(VERDICTS.read_text("utf-8"))
    fresh = ground_truth(VECTORS)
    assert fresh["java"] == recorded["java"], "another JDK: regenerate with python -m interop.jca --vectors DIR"
    assert fresh == recorded
    # The JDK is lenient once (a DER INTEGER without its sign byte) and strict twice where
    # Wycheproof is not (x of u1*G + u2*Q not reduced mod n): both are kept in the file.
    assert {d["id"] for d in recorded["differ_from_wycheproof"]} >= {"der-6"}
