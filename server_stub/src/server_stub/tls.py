"""TLS on the stub's ILP port (`serve --tls`), as QuestDB Enterprise serves it (`tcps::` clients).

- Certificates: a throwaway CA and a server certificate it signs, for localhost, 127.0.0.1 and ::1,
  made with `cryptography` into a folder given or made for the run (files mode 0600); or a user's own
  certificate and key.
- A session per connection over memory BIOs (`TlsSession`), so that the connection's adapter sees
  every byte and every failure of the handshake and the machine can write the one `auth` event that
  explains it, which asyncio's own TLS transport would swallow.
- What a failed handshake means, as a reason code of reasons.toml (`failure`).

The handshake and the rows inside TLS are the same bytes as on the plain port.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAMES = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")
VALID_FOR = datetime.timedelta(days=2)  # a throwaway CA: long enough for any run, short enough to expire
RECORD_TYPES = range(0x14, 0x18)  # change_cipher_spec, alert, handshake, application_data


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the server's certificate (PEM)
    key: Path  # its private key (PEM)
    ca: Path | None  # the CA that signed it, for clients to trust; None for a user's own certificate


def make_files(folder: str | os.PathLike | None = None) -> TlsFiles:
    """A CA and a server certificate signed by it, written into `folder` (made for the run when None)."""
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="server-stub-tls-"))
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)  # clock skew
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server_stub throwaway CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + VALID_FOR)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(n) for n in NAMES] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAMES[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + VALID_FOR)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TlsFiles(cert=folder / "server.pem", key=folder / "server.key", ca=folder / "ca.pem")
    _write_private(files.ca, ca.public_bytes(serialization.Encoding.PEM))
    _write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return files


def files_for(config) -> TlsFiles:
    """The certificate and key a StubConfig names (tls_cert and tls_key), or a throwaway CA and
    certificate made into its tls_dir."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if config.tls_cert is not None:
        return TlsFiles(cert=Path(config.tls_cert), key=Path(config.tls_key), ca=None)
    return make_files(config.tls_dir)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (0600), whatever the umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The server side: TLS 1.2 or 1.3, the certificate and key; ssl.SSLError for files that do not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)
    return context


def looks_like_tls(data: bytes) -> bool:
    """Whether bytes that should be a key id are a TLS record instead (a ClientHello is 0x16 0x03; a
    client that gives up before it sends an alert, 0x15 0x03)."""
    return len(data) >= 2 and data[0] in RECORD_TYPES and data[1] == 3


class TlsSession:
    """The server's side of one TLS connection, over memory BIOs: encrypted bytes in and out, the
    plaintext between. `receive` answers (plaintext, failure): failure is None or (reason_code,
    details) when the handshake failed; `outgoing()` is what to write to the socket after each call."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_side=True)
        self.established = False
        self._head: bytes | None = b""  # until the first two bytes are in

    def receive(self, data: bytes) -> tuple[bytes, tuple[str, dict] | None]:
        if self._head is not None:  # the first bytes: a TLS record, or plaintext sent to the TLS port?
            data = self._head + data
            if len(data) < 2 and data[:1] and data[0] in RECORD_TYPES:
                self._head = data
                return b"", None
            self._head = None
            if not looks_like_tls(data):
                return b"", ("plaintext_on_tls_port", {"start": _shown(data)})
        self._in.write(data)
        if not self.established:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                return b"", None
            except ssl.SSLError as error:
                return b"", failure(error)
            self.established = True
        pieces = []
        while True:
            try:
                piece = self._tls.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError as error:
                return b"".join(pieces), ("tls_failed", {"problem": error.reason or str(error)})
            if not piece:  # the client's close_notify: answer with ours, as TLS asks, and read no more
                self._close_notify()
                break
            pieces.append(piece)
        return b"".join(pieces), None

    def _close_notify(self) -> None:
        try:
            self._tls.unwrap()
        except ssl.SSLError:
            pass  # ours is in outgoing() all the same; the client closes the connection next

    def send(self, data: bytes) -> None:
        self._tls.write(data)

    def outgoing(self) -> bytes:
        return self._out.read()


# OpenSSL's reason for a failed server handshake -> the reason code (reasons.toml) that explains it.
_FAILURES = {
    "TLSV1_ALERT_UNKNOWN_CA": "tls_certificate_refused",
    "SSLV3_ALERT_BAD_CERTIFICATE": "tls_certificate_refused",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "tls_certificate_refused",
    "TLSV1_ALERT_DECRYPT_ERROR": "tls_certificate_refused",
    "UNSUPPORTED_PROTOCOL": "tls_no_shared_version",
    "NO_PROTOCOLS_AVAILABLE": "tls_no_shared_version",
    "TLSV1_ALERT_PROTOCOL_VERSION": "tls_no_shared_version",
    "WRONG_VERSION_NUMBER": "tls_no_shared_version",
    "VERSION_TOO_LOW": "tls_no_shared_version",
}


def failure(error: ssl.SSLError) -> tuple[str, dict]:
    """The reason code and details of a failed handshake."""
    reason = error.reason or type(error).__name__
    return _FAILURES.get(reason, "tls_failed"), {"problem": reason}


def _shown(data: bytes, limit: int = 24) -> str:
    """The first bytes as a client author would recognise them: `testUser1\\n`."""
    return repr(data[:limit])[2:-1] + ("..." if len(data) > limit else "")
