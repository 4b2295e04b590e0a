"""The benchmark: the stub against the real QuestDB server with one load generator (`python -m interop.bench`).

See main.py for the parts and README.md for how to read the table.
"""
