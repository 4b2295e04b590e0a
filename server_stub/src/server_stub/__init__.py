"""A QuestDB-faithful ILP/TCP challenge/response server stub that explains every verdict.

Public API: `run_stub` / `RunningStub` (in-process server, running.py), `StubConfig` (limits),
`judge` / `verify_signature` (the verdict, signature.py), `load_auth_db` (authdb.py) and the
pytest fixtures `ilp_stub` / `ilp_stub_factory` (pytest_plugin.py).
"""

from .authdb import AuthFileError, load_auth_db
from .running import RunningStub, run_stub
from .server import StubConfig
from .signature import judge, verify_signature

__all__ = ["AuthFileError", "RunningStub", "StubConfig", "judge", "load_auth_db", "run_stub", "verify_signature"]
