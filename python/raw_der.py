"""python-raw-der: QuestDB's ILP/TCP authentication by hand, signature sent in DER (70 to 72 bytes, rarely fewer).

The handshake, over a plain socket, with the `cryptography` package:
  1. send the key id and "\\n"
  2. read the challenge up to its "\\n" (512 printable bytes)
  3. sign those 512 bytes (without the "\\n"), ECDSA P-256 with SHA-256
  4. send the standard base64 of the signature and "\\n"
  5. send the rows, and close
The server never answers: on success it just reads the rows, on failure it just closes.

Environment (interop/CLIENTS.md): ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS, ILP_TIMEOUT_S.
"""

import base64
import socket
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from example_env import run


def send_once(settings):
    # The private key: the JWK's d is the scalar, in base64url WITHOUT padding. Python's decoder wants
    # the padding, so put it back first.
    d = base64.urlsafe_b64decode(settings.d + "=" * (-len(settings.d) % 4))
    key = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())

    # Connect. The timeout bounds the connect, and then each recv and each sendall on this socket.
    sock = socket.create_connection((settings.host, settings.port), timeout=settings.timeout_s)

    # 1. The key id, then "\n".
    sock.sendall(settings.kid.encode("utf-8") + b"\n")

    # 2. The challenge: 512 printable bytes, then "\n". TCP may deliver them in several pieces, so one
    # recv is not enough: read until the "\n" has arrived, within the timeout in all.
    deadline = time.monotonic() + settings.timeout_s
    received = b""
    while b"\n" not in received:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))  # what is left of it (0 would mean non-blocking)
        try:
            piece = sock.recv(4096)
        except TimeoutError:
            raise TimeoutError(f"reading the challenge: timed out after {settings.timeout_s:g} s") from None
        if not piece:
            raise ConnectionError(f"reading the challenge: the server closed the connection after {len(received)} bytes")
        received += piece
    challenge = received[: received.index(b"\n")]  # the 512 bytes; the "\n" (and anything after it) is not signed

    # 3. Sign the challenge. cryptography signs in DER (an ASN.1 SEQUENCE of two INTEGERs, r and s),
    # and DER is what this example sends, as it comes: nothing to pad. The server picks the format by
    # the decoded length: 64 bytes means raw r||s, anything else DER. A P-256 DER signature is 70 to
    # 72 bytes (64 would take r and s together 6 bytes shorter than usual: a chance of about 2**-47),
    # so it is never taken for a raw one.
    signature = key.sign(challenge, ec.ECDSA(hashes.SHA256()))

    # 4. STANDARD base64 (+ and /), then "\n": the server's decoder rejects base64url's - and _.
    sock.settimeout(settings.timeout_s)  # each sendall from here on: a whole timeout of its own
    sock.sendall(base64.b64encode(signature) + b"\n")

    # 5. The rows, as the fixture's ILP text, one line each. No reply comes: on success the server
    # just reads on, on failure it just closes (and this write may or may not notice). So the rows
    # follow at once, and only the server knows whether it accepted the handshake.
    rows = b"".join(row["ilp"].encode("utf-8") + b"\n" for row in settings.rows)
    sock.sendall(rows)

    # Close: nothing to wait for (no SO_LINGER); the kernel delivers what is still queued.
    sock.close()


if __name__ == "__main__":
    # It sends the fixture's ilp text (protocol version 1) over a plain socket (no TLS).
    run("python-raw-der", send_once, protocol_versions=(1,), tls=False)
