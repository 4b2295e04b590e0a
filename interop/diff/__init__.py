"""The differential engine: generated handshakes and ILP lines played against the real QuestDB and the
stub side by side (README.md of this folder)."""
