"""A tiny token service for the distribution server's ``auth: token`` (tests only).

Run as ``python tests/oci_issuer.py PORT KEY.pem CERT.pem SERVICE ISSUER USER PASSWORD``.
It answers ``GET /token?service=...&scope=repository:NAME:pull,push`` as Harbor's and
GHCR's token services do: with the right Basic credentials it grants the actions
asked for, anonymously it grants nothing (so the registry then refuses), and a wrong
password is a 401. Tokens are JWTs signed with ES256 by KEY, carrying CERT in their
``x5c`` header; the registry trusts them because CERT is its ``rootcertbundle``.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


def main() -> None:
    port, key_path, cert_path, service, issuer, user, password = sys.argv[1:8]
    key = Path(key_path).read_bytes()
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    chain = [base64.b64encode(cert.public_bytes(Encoding.DER)).decode()]
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            given = self.headers.get("Authorization")
            if given is not None and given != expected:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            access = []
            for scope in query.get("scope", []) if given else []:
                kind, _colon, rest = scope.partition(":")
                name, _colon, actions = rest.rpartition(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
            now = int(time.time())
            claims = {
                "iss": issuer,
                "sub": user if given else "",
                "aud": service,
                "exp": now + 600,
                "nbf": now - 60,
                "iat": now,
                "jti": uuid.uuid4().hex,
                "access": access,
            }
            token = jwt.encode(claims, key, algorithm="ES256", headers={"x5c": chain})
            body = json.dumps({"token": token, "expires_in": 600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
