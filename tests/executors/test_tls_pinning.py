"""HTTPS through the pinned-address transport: SNI and certificate checks use the host name."""

from __future__ import annotations

import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from apflow.executors.http import RestExecutor

HOST = "secure.test"


def _cert(subject: str, issuer_key, public_key, issuer: str, *, ca: bool):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("apflow test CA", ca_key, ca_key.public_key(), "apflow test CA", ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(HOST, ca_key, key.public_key(), "apflow test CA", ca=False)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "key.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.mark.usefixtures("loopback_one_is_public")
async def test_https_to_a_pinned_address_verifies_the_certificate_by_name(tls_server, fake_dns):
    fake_dns[HOST] = "127.0.0.1"
    tls_server.expect_request("/secure").respond_with_json({"tls": True})
    url = f"https://{HOST}:{tls_server.port}/secure"
    out = await RestExecutor().execute({"url": url})
    assert out["status"] == "completed", out
    assert out["result"]["json"] == {"tls": True}


@pytest.mark.usefixtures("loopback_one_is_public")
async def test_certificate_for_another_name_is_rejected(tls_server):
    tls_server.expect_request("/secure").respond_with_json({"tls": True})
    out = await RestExecutor().execute({"url": f"https://127.0.0.1:{tls_server.port}/secure"})
    assert out["status"] == "failed" and out["error_type"] == "connect_error"
    assert "CERTIFICATE_VERIFY_FAILED" in out["error"] and out["retryable"] is False
