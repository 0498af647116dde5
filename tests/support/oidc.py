"""A small OpenID Connect provider on 127.0.0.1 for the sign-in tests: a real HTTP server with the discovery
document, /authorize (approves one fixed test user at once and redirects back with a code), /token (an RS256
id_token signed with a key made at start, checked client credentials, code and PKCE verifier) and /jwks.

    with OidcProvider() as idp:
        write_secrets(path, idp, redirect_uri="http://127.0.0.1:{port}/oauth2callback")

Only what Authlib's OIDC client (Streamlit's st.login) asks for; every request is kept in `requests` so a test
can say which endpoints the sign-in went through.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "facility-tracker"
CLIENT_SECRET = "test-client-secret"
TEST_EMAIL = "analyst@example.org"
TEST_NAME = "Test Analyst"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    method: str | None


@dataclass
class OidcProvider:
    """The provider; a context manager that serves on a free port of 127.0.0.1 until it exits."""

    email: str = TEST_EMAIL
    name: str = TEST_NAME
    requests: list[str] = field(default_factory=list)  # "METHOD /path" of every request, in order

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def metadata_url(self) -> str:
        """The discovery document's URL (server_metadata_url in secrets.toml)."""
        return f"{self.base}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, object]:
        """The discovery document."""
        return {"issuer": self.base, "authorization_endpoint": f"{self.base}/authorize",
                "token_endpoint": f"{self.base}/token", "jwks_uri": f"{self.base}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"], "claims_supported": ["sub", "email", "name"]}

    def id_token(self, client_id: str, nonce: str | None) -> str:
        """An id_token for the test user, signed with the provider's key."""
        now = int(time.time())
        claims = {"iss": self.base, "sub": "test-user-1", "aud": client_id, "iat": now, "exp": now + 600,
                  "email": self.email, "email_verified": True, "name": self.name}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code" or not query.get(
                "redirect_uri"):
            return 400, {"Content-Type": "text/plain"}, b"bad authorization request"
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._grants[code] = _Grant(query["client_id"], query["redirect_uri"], query.get("nonce"),
                                        query.get("code_challenge"), query.get("code_challenge_method"))
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}, b""

    def _token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return _json(401, {"error": "invalid_client"})
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code" or form.get(
                "redirect_uri") != grant.redirect_uri:
            return _json(400, {"error": "invalid_grant"})
        if grant.challenge:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if digest != grant.challenge:
                return _json(400, {"error": "invalid_grant", "error_description": "PKCE verifier"})
        return _json(200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 600,
                           "scope": "openid email profile", "id_token": self.id_token(grant.client_id, grant.nonce)})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
                pass

            def _send(self, answer: tuple[int, dict[str, str], bytes]) -> None:
                status, headers, body = answer
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                provider.requests.append(f"GET {url.path}")
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._send(_json(200, provider.discovery()))
                elif url.path == "/jwks":
                    self._send(_json(200, {"keys": [provider.key.as_dict(private=False)]}))
                elif url.path == "/authorize":
                    self._send(provider._authorize(query))
                else:
                    self._send((404, {"Content-Type": "text/plain"}, b"not found"))

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                provider.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if url.path == "/token":
                    self._send(provider._token(form, self.headers.get("Authorization")))
                else:
                    self._send((404, {"Content-Type": "text/plain"}, b"not found"))

        return Handler


def _json(status: int, doc: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(doc).encode()


def write_secrets(path: Path, provider: OidcProvider, redirect_uri: str) -> Path:
    """A secrets.toml whose [auth] section signs in through `provider` ({port} in redirect_uri is the app's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[auth]\n"
                    f'redirect_uri = "{redirect_uri}"\n'
                    f'cookie_secret = "{secrets.token_hex(32)}"\n'
                    f'client_id = "{CLIENT_ID}"\n'
                    f'client_secret = "{CLIENT_SECRET}"\n'
                    f'server_metadata_url = "{provider.metadata_url}"\n', "utf-8")
    return path
