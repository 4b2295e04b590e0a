"""The ceiling: OpenSSL's own ECDSA P-256 verify rate on one core (`openssl speed` runs one process)."""

from __future__ import annotations

import re
import shutil

from ..process import run

SECONDS = 3
TIMEOUT = 60.0
# " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  23612.5   7712.7"  (sign s, verify s, sign/s, verify/s)
_LINE = re.compile(r"256 bits ecdsa \(nistp256\)\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)\s+([\d.]+)")


class CeilingError(RuntimeError):
    pass


def parse_speed(output: str) -> dict:
    found = _LINE.search(output)
    if found is None:
        raise CeilingError("no 'ecdsa (nistp256)' result line in the output of openssl speed")
    return {"sign_per_second": float(found.group(3)), "verify_per_second": float(found.group(4))}


def openssl_verify_rate(seconds: int = SECONDS) -> dict:
    """{"verify_per_second", "sign_per_second", "version", "command"} for one core."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CeilingError("`openssl` not found on PATH: the ceiling needs the openssl command line tool")
    cmd = [openssl, "speed", "-seconds", str(seconds), "ecdsap256"]
    speed = run(cmd, None, TIMEOUT)
    if speed.exit_code is None:
        raise CeilingError(f"`{' '.join(cmd)}` did not finish within {TIMEOUT:.0f} s")
    if not speed.ok:
        last = (speed.stderr.strip().splitlines() or ["no output"])[-1]
        raise CeilingError(f"`{' '.join(cmd)}` exited {speed.exit_code}: {last}")
    version = run([openssl, "version"], None, 10).stdout.strip()
    return {**parse_speed(speed.stdout), "version": version, "command": " ".join(cmd[1:]), "cores": 1}


def measure() -> dict:
    """The ceiling, printed on one line."""
    figures = openssl_verify_rate()
    print(f"openssl: {figures['verify_per_second']:,.1f} verify/s on one core", flush=True)
    return figures
