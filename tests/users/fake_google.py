"""A local stand-in for Google's side of Sign-In: an RSA key of our own that signs ID tokens, and an
HTTP server on 127.0.0.1 serving its certificate the way https://www.googleapis.com/oauth2/v1/certs
does (`{"<kid>": "<PEM certificate>"}` with a Cache-Control max-age)."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CLIENT_ID = "1234567890-novacart.apps.googleusercontent.com"
ISSUER = "https://accounts.google.com"


class SigningKey:
    def __init__(self, kid: str):
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-google-certs")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .sign(self.private_key, hashes.SHA256())
        )
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, claims: dict, *, kid: str | None = None) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid})


# Keys are slow to make: one per test session is enough (the server decides which are published).
KEY = SigningKey("fake-kid-1")
OTHER_KEY = SigningKey("fake-kid-2")


def claims(**overrides) -> dict:
    """The claims of a Google ID token for CLIENT_ID, valid for an hour from now."""
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "azp": CLIENT_ID,
        "aud": CLIENT_ID,
        "sub": "110169484474386276334",
        "email": "ada@gmail.com",
        "email_verified": True,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "iat": now,
        "exp": now + 3600,
        "jti": f"jti-{time.monotonic_ns()}",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def id_token(**overrides) -> str:
    return KEY.sign(claims(**overrides))


class FakeGoogleCerts:
    """Serves the published certificates; `status` and `body` override the answer, `requests`
    counts the downloads."""

    def __init__(self, keys=(KEY,)):
        self.keys = list(keys)
        self.status = 200
        self.body: bytes | None = None
        self.cache_control = "public, max-age=19800, must-revalidate, no-transform"
        self.requests = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests += 1
                body = fake.body
                if body is None:
                    body = json.dumps({key.kid: key.certificate_pem for key in fake.keys}).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Cache-Control", fake.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oauth2/v1/certs"

    def start(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
