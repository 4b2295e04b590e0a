"""`python -m interop.jca --vectors DIR`: the real server's verdict on every Wycheproof vector.

QuestDB verifies a signature with the JDK's own verifiers (JcaVerdicts.java says which, and how it
chooses). This runs that rule, with the `java` on PATH (the JDK that runs QuestDB here), over the
Wycheproof ECDSA P-256/SHA-256 files in DIR, and writes the verdicts, the Java version and the
vectors where the JDK and Wycheproof's strict verdict differ to server_stub/tests/data/wycheproof_jca.json.
The stub's Wycheproof tests hold its verifier against that file; a test re-runs this and fails when
the file is out of date.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "JcaVerdicts.java"
VERDICTS = HERE.parent.parent / "server_stub" / "tests" / "data" / "wycheproof_jca.json"
FILES = {"der": "ecdsa_secp256r1_sha256_test.json", "p1363": "ecdsa_secp256r1_sha256_p1363_test.json"}
TIMEOUT = 120.0


class JcaError(RuntimeError):
    pass


def load_vectors(folder: Path) -> list[dict]:
    """Every test of both files: id ("der-6"), the public point, message and signature (hex), and
    Wycheproof's own result, comment and flags."""
    vectors = []
    for encoding, name in FILES.items():
        data = json.loads((folder / name).read_text("utf-8"))
        for group in data["testGroups"]:
            for test in group["tests"]:
                vectors.append({"id": f"{encoding}-{test['tcId']}", "x": group["publicKey"]["wx"],
                                "y": group["publicKey"]["wy"], "msg": test["msg"], "sig": test["sig"],
                                "wycheproof": test["result"], "comment": test["comment"], "flags": test["flags"]})
    return vectors


def jca_verdicts(vectors: list[dict]) -> tuple[str, dict[str, dict]]:
    """(the JDK's header line, {id: {"accepted": bool, "why": str}}), from one run of JcaVerdicts.java."""
    java = shutil.which("java")
    if java is None:
        raise JcaError("`java` not found on PATH: the ground truth is the JDK's own verifiers")
    tests = "".join(f"{v['id']}\t{v['x']}\t{v['y']}\t{v['msg']}\t{v['sig']}\n" for v in vectors)
    cmd = [java, str(PROGRAM)]
    try:
        done = subprocess.run(cmd, input=tests, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as expired:
        raise JcaError(f"$ {' '.join(cmd)}: killed after {TIMEOUT:g} s\n{expired.stderr or ''}") from None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines or not lines[0].startswith("# "):
        raise JcaError(f"$ {' '.join(cmd)}\nexit {done.returncode}\nstdout:\n{done.stdout[-2000:]}\n"
                       f"stderr:\n{done.stderr[-2000:]}")
    verdicts = {}
    for line in lines[1:]:
        test_id, verdict, why = line.split("\t")
        verdicts[test_id] = {"accepted": verdict == "accept", "why": why}
    if set(verdicts) != {v["id"] for v in vectors}:
        raise JcaError(f"{PROGRAM.name} answered {len(verdicts)} of {len(vectors)} tests")
    return lines[0][2:], verdicts


def ground_truth(folder: Path) -> dict:
    vectors = load_vectors(folder)
    java, verdicts = jca_verdicts(vectors)
    differ = [{"id": v["id"], "wycheproof": v["wycheproof"], "jdk": "accept" if verdicts[v["id"]]["accepted"] else "reject",
               "why": verdicts[v["id"]]["why"], "comment": v["comment"], "flags": v["flags"]}
              for v in vectors if verdicts[v["id"]]["accepted"] != (v["wycheproof"] == "valid")]
    return {"made_by": "python -m interop.jca --vectors DIR (interop/jca/JcaVerdicts.java)", "java": java,
            "rule": "64 bytes: SHA256withECDSAinP1363Format; other lengths: SHA256withECDSA; all zero: reject; "
                    "a verifier that throws: reject",
            "tests": len(vectors), "accepted": sum(v["accepted"] for v in verdicts.values()),
            "differ_from_wycheproof": differ, "verdicts": verdicts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.jca", description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=Path, required=True, help="folder with the two Wycheproof JSON files")
    parser.add_argument("--out", type=Path, default=VERDICTS, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        truth = ground_truth(args.vectors)
    except (JcaError, OSError, KeyError, ValueError) as error:
        print(f"jca: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"jca: {truth['tests']} tests, {truth['accepted']} accepted by {truth['java']}; "
          f"{len(truth['differ_from_wycheproof'])} differ from Wycheproof; wrote {args.out}")
    for d in truth["differ_from_wycheproof"]:
        print(f"  {d['id']}: Wycheproof {d['wycheproof']}, the JDK {d['jdk']}s ({d['comment']})")
    return 0
