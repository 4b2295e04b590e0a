"""The interop harness: runs every registered example against the stub and judges the stub's events.

`python -m interop --help` (or `nox -s interop`) runs it; README.md in this folder explains it.
"""
