"""A throw-away certificate authority and a server certificate for 127.0.0.1 / localhost.

Uses `cryptography` when it is importable, otherwise the `openssl` command line. Keys are EC
P-256, which is quick to generate (a few milliseconds) and accepted by urllib3/OpenSSL.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import functools
import ipaddress
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CA_NAME = "kubeapi-test-ca"
SERVER_NAME = "kube-apiserver"
SAN_IPS = ("127.0.0.1", "::1")
SAN_DNS = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")


@dataclass(frozen=True)
class TLSMaterial:
    """Paths to a CA certificate and a server certificate/key signed by it (all PEM)."""

    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path

    @functools.cached_property
    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()

    @property
    def ca_data(self) -> str:
        """The CA as kubeconfig's `certificate-authority-data` wants it (base64 of the PEM)."""
        return base64.b64encode(self.ca_pem).decode("ascii")

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this CA (for tests that bypass the kubernetes client)."""
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))


def generate_tls(directory: str | Path, backend: str | None = None) -> TLSMaterial:
    """Write ca.crt, server.crt and server.key into `directory`.

    `backend` is "cryptography", "openssl" or None (cryptography if importable).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    material = TLSMaterial(
        directory=directory,
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
    )
    if backend is None:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            backend = "openssl"
        else:
            backend = "cryptography"
    if backend == "cryptography":
        _generate_with_cryptography(material)
    elif backend == "openssl":
        _generate_with_openssl(material)
    else:
        raise ValueError(f"unknown TLS backend {backend!r}")
    return material


@functools.cache
def default_tls() -> TLSMaterial:
    """One certificate set per process, in a temp dir removed at exit."""
    directory = tempfile.mkdtemp(prefix="kubeapi-tls-")
    atexit.register(shutil.rmtree, directory, True)
    return generate_tls(directory)


def _generate_with_cryptography(material: TLSMaterial) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=7)

    def key_usage(*, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_subject)
        .issuer_name(ca_subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(ca=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SAN_IPS]
    sans += [x509.DNSName(name) for name in SAN_DNS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)]))
        .issuer_name(ca_subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    material.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    material.server_cert.write_bytes(cert.public_bytes(pem))
    material.server_key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    material.server_key.chmod(0o600)


def _generate_with_openssl(material: TLSMaterial) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("neither the cryptography package nor the openssl command is available")
    d = material.directory
    ca_key = d / "ca.key"
    csr = d / "server.csr"
    ext = d / "server.ext"
    sans = [f"IP:{ip}" for ip in SAN_IPS] + [f"DNS:{name}" for name in SAN_DNS]
    ext.write_text(
        f"subjectAltName={','.join(sans)}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str | Path) -> None:
        subprocess.run([openssl, *map(str, args)], check=True, capture_output=True)

    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        ca_key,
        "-out",
        material.ca_cert,
        "-days",
        "7",
        "-subj",
        f"/CN={CA_NAME}",
        "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext",
        "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
        "-addext",
        "subjectKeyIdentifier=hash",
    )
    run(
        "req",
        "-new",
        *ec,
        "-keyout",
        material.server_key,
        "-out",
        csr,
        "-subj",
        f"/CN={SERVER_NAME}",
    )
    run(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        material.ca_cert,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-out",
        material.server_cert,
        "-days",
        "7",
        "-sha256",
        "-extfile",
        ext,
    )
    material.server_key.chmod(0o600)
