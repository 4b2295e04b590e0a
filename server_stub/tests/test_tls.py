"""TLS on the stub's port (serve --tls): the certificates it makes, the handshake and rows inside TLS,
and every TLS failure as the connection's one auth event; and a TLS client on the plain port."""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509

from server_stub import run_stub
from server_stub.client import Key
from server_stub.tls import make_files


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def handshake_over_tls(stub, jwk: dict, context: ssl.SSLContext, host: str, rows: bytes = b"t x=1i\n") -> None:
    with socket.create_connection((stub.host, stub.port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=host) as sock:
        sock.sendall(jwk["kid"].encode() + b"\n")
        challenge = b""
        while not challenge.endswith(b"\n"):
            challenge += sock.recv(1024)
        sock.sendall(base64.b64encode(Key.from_jwk(jwk).p1363(challenge[:-1])) + b"\n" + rows)


def auth_events(stub, count: int) -> list[dict]:
    stub.wait_for_closed(count)
    return stub.events("auth")


@pytest.fixture
def tls_stub(two_keys, tmp_path):
    with run_stub(two_keys[0], tls=True, tls_dir=str(tmp_path / "tls")) as stub:
        yield stub


def test_the_throwaway_files_are_private_and_name_localhost_and_both_loopbacks(tmp_path):
    files = make_files(tmp_path)
    for path in (files.ca, files.cert, files.key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_handshake_and_rows_are_the_same_inside_tls(tls_stub, two_keys, host):
    handshake_over_tls(tls_stub, two_keys[1]["alice"], trusting(tls_stub.tls_ca), host)
    (auth,) = auth_events(tls_stub, 1)
    assert (auth["accepted"], auth["encoding"]) == (True, "p1363")
    assert [r["columns"]["x"]["value"] for r in tls_stub.events("row")] == [1]
    assert tls_stub.events("listening")[0]["tls"] == {"ca": str(tls_stub.tls_ca)}


def test_plaintext_to_the_tls_port_is_named_with_its_first_bytes(tls_stub):
    with socket.create_connection((tls_stub.host, tls_stub.port), timeout=5) as sock:
        sock.sendall(b"alice\n")
    (auth,) = auth_events(tls_stub, 1)
    assert auth["reason_code"] == "plaintext_on_tls_port" and '"alice\\n"' in auth["reason"]
    assert "tcps::" in auth["hint"]


def test_a_client_that_does_not_trust_the_ca_is_named(tls_stub):
    with pytest.raises(ssl.SSLCertVerificationError), \
            socket.create_connection((tls_stub.host, tls_stub.port), timeout=5) as raw:
        ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
    (auth,) = auth_events(tls_stub, 1)
    assert auth["reason_code"] == "tls_certificate_refused" and "UNKNOWN_CA" in auth["reason"]


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_no_shared_tls_version_is_named(tls_stub):
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError), socket.create_connection((tls_stub.host, tls_stub.port), timeout=5) as raw:
        old.wrap_socket(raw)
    (auth,) = auth_events(tls_stub, 1)
    assert auth["reason_code"] == "tls_no_shared_version"


def test_a_client_that_gives_up_during_the_tls_handshake_is_named(tls_stub):
    with socket.create_connection((tls_stub.host, tls_stub.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01\x02")  # the start of a ClientHello, then nothing
        time.sleep(0.1)
    (auth,) = auth_events(tls_stub, 1)
    (close,) = tls_stub.events("close")
    assert (auth["reason_code"], close["cause"]) == ("tls_handshake_abandoned", "peer_closed")


def test_a_tls_client_on_the_plain_port_is_named_and_questdb_would_keep_it_open(two_keys):
    loose = ssl.create_default_context()
    loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
    with run_stub(two_keys[0]) as stub:
        with pytest.raises((ssl.SSLError, OSError)), \
                socket.create_connection((stub.host, stub.port), timeout=5) as raw:
            loose.wrap_socket(raw)
        (auth,) = auth_events(stub, 1)
    assert auth["reason_code"] == "tls_on_plain_port" and "speaks TLS to a plain port" in auth["reason"]
    assert auth["real_server_closes"] is False


def test_a_certificate_of_ones_own_has_no_ca_in_the_listening_line(two_keys, tmp_path):
    files = make_files(tmp_path)
    with run_stub(two_keys[0], tls=True, tls_cert=str(files.cert), tls_key=str(files.key)) as stub:
        assert stub.tls_ca is None
        handshake_over_tls(stub, two_keys[1]["bob"], trusting(files.ca), "localhost")
        (auth,) = auth_events(stub, 1)
        assert auth["accepted"] and stub.events("listening")[0]["tls"] == {"ca": None}


def test_serve_tls_names_its_ca_and_a_bad_certificate_exits_2(two_keys, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "server_stub", "serve", "--auth-db", str(two_keys[0]), "--tls",
                             "--tls-dir", str(tmp_path / "d"), "--events", str(tmp_path / "e.jsonl")],
                            stdout=subprocess.PIPE, text=True)
    try:
        listening = json.loads(proc.stdout.readline())
        assert listening["tls"] == {"ca": str(tmp_path / "d" / "ca.pem")}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    bad = subprocess.run([sys.executable, "-m", "server_stub", "serve", "--auth-db", str(two_keys[0]), "--tls-cert",
                          str(tmp_path / "bad.pem"), "--tls-key", str(tmp_path / "bad.pem")],
                         capture_output=True, text=True, timeout=30, check=False)
    assert (bad.returncode, bad.stdout, bad.stderr.count("\n")) == (2, "", 1) and bad.stderr.startswith("--tls:")


def test_a_close_notify_ends_the_connection_and_the_stub_serves_the_next(tls_stub, two_keys):
    """The client's TLS close_notify gives no more plaintext: the stub must not wait on it (it once spun)."""
    for _ in range(2):
        with socket.create_connection((tls_stub.host, tls_stub.port), timeout=5) as raw:
            sock = trusting(tls_stub.tls_ca).wrap_socket(raw, server_hostname="localhost")
            sock.sendall(b"alice\n")
            challenge = b""
            while not challenge.endswith(b"\n"):
                challenge += sock.recv(1024)
            sock.sendall(base64.b64encode(Key.from_jwk(two_keys[1]["alice"]).p1363(challenge[:-1])) + b"\nt x=1i\n")
            sock.unwrap().close()  # close_notify (the stub answers with its own), then the socket closes
    assert [a["accepted"] for a in auth_events(tls_stub, 2)] == [True, True]
    assert len(tls_stub.events("row")) == 2
