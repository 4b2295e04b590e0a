"""python-raw-der: QuestDB's ILP/TCP authentication by hand, signature sent in DER (70 to 72 bytes).

The handshake, over a plain socket, with the `cryptography` package:
  1. send the key id and "\\n"
  2. read the challenge up to its "\\n" (512 printable bytes)
  3. sign those 512 bytes (without the "\\n"), ECDSA P-256 with SHA-256
  4. send the standard base64 of the signature and "\\n", then the rows
The server never answers: on success it just reads the rows, on failure it just closes.

Environment (interop/CLIENTS.md): ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS.
"""

import base64
import socket

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from example_env import TIMEOUT_S, private_key, read_challenge, run, step


def sign_der(key, challenge):
    # cryptography signs in DER (ASN.1 SEQUENCE of two INTEGERs): send it as it comes, no padding
    # to do. The server picks the format by the decoded length: 64 bytes means raw r||s, anything else
    # DER. A P-256 DER signature is 70 to 72 bytes (64 would take r and s together 6 bytes shorter
    # than usual: a chance of about 2**-47), so it is never taken for a raw one.
    return key.sign(challenge, ec.ECDSA(hashes.SHA256()))


def send_once(settings):
    with step("loading the key"):
        key = private_key(settings)
    # The rows, as the fixture's ILP text, one line each.
    rows = b"".join(row["ilp"].encode("utf-8") + b"\n" for row in settings.rows)
    with step("connecting"):
        sock = socket.create_connection((settings.host, settings.port), timeout=TIMEOUT_S)
    with sock:
        with step("sending the key id"):
            sock.sendall(settings.kid.encode("utf-8") + b"\n")
        with step("reading the challenge"):
            challenge = read_challenge(sock)  # up to its "\n", even when it arrives in pieces
        with step("signing the challenge"):
            signature = sign_der(key, challenge)
        with step("sending the signature"):
            sock.settimeout(TIMEOUT_S)
            # STANDARD base64 (+ and /): the server's decoder rejects base64url's - and _.
            sock.sendall(base64.b64encode(signature) + b"\n")
        # No reply comes: on success the server just reads on, on failure it just closes (and this
        # write may or may not notice). So the rows follow at once, and only the server knows.
        with step("sending the rows"):
            sock.sendall(rows)


if __name__ == "__main__":
    run("python-raw-der", send_once)
