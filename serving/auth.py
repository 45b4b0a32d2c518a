"""Who is calling, and may they: JWT bearer tokens and service API keys, roles and
permissions, and the per-client rate limit.

A token carries its subject, roles and the permissions those roles grant at issue time
(``innsight token`` issues one). A service API key (header ``X-API-Key``) is configured as
the SHA-256 of the key with its roles (``innsight api-key`` makes one). Routes declare what
they need with ``Depends(require("ml:read"))``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from base.settings import Settings, get_settings
from serving.errors import ApiError

AUDIENCE = "innsight-api"
ALGORITHM = "HS256"

PERMISSIONS = {
    "ml:read": "predictions, forecasts, prices and recommendations",
    "cv:read": "face recognition, image search and room analysis",
    "cv:write": "enrol faces, index images, erase a person's face data",
    "llm:query": "the staff assistant and request routing",
    "events:write": "post booking, room-status and attendance events",
    "metrics:read": "Prometheus metrics",
    "admin": "retrain models and everything else",
}
ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "revenue_manager": frozenset({"ml:read", "llm:query"}),
    "front_desk": frozenset({"ml:read", "llm:query", "events:write"}),
    "housekeeping": frozenset({"cv:read", "llm:query", "events:write"}),
    "security": frozenset({"cv:read", "cv:write", "events:write"}),
    "monitoring": frozenset({"metrics:read"}),
    # systems: the PMS sync, door controllers and camera pipelines
    "service": frozenset({"ml:read", "cv:read", "events:write"}),
}


@dataclass(frozen=True)
class Principal:
    subject: str
    kind: str  # "token" | "api_key"
    roles: tuple[str, ...]
    permissions: frozenset[str]
    rate_limit: str | None = None


def permissions_of(roles: list[str]) -> frozenset[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; known roles: {sorted(ROLES)}")
    return frozenset().union(*(ROLES[r] for r in roles)) if roles else frozenset()


def issue_token(subject: str, roles: list[str], ttl: timedelta | None = None,
                rate_limit: str | None = None, settings: Settings | None = None) -> str:
    """A signed token for `subject` with the permissions of `roles`."""
    s = settings or get_settings()
    now = datetime.now(timezone.utc)
    claims = {
        "sub": subject, "roles": list(roles), "permissions": sorted(permissions_of(roles)),
        "iss": s.jwt_issuer, "aud": AUDIENCE, "iat": now,
        "exp": now + (ttl or timedelta(minutes=s.token_ttl_minutes)),
    }
    if rate_limit:
        claims["rate_limit"] = rate_limit
    return jwt.encode(claims, s.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def new_api_key(name: str, roles: list[str]) -> tuple[str, dict]:
    """A fresh key and its settings entry (only the hash is stored)."""
    import secrets

    permissions_of(roles)
    key = "isk_" + secrets.token_urlsafe(32)
    return key, {"name": name, "sha256": hashlib.sha256(key.encode()).hexdigest(), "roles": roles}


class Unauthorized(ApiError):
    status_code = 401
    error = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="innsight"'}


class Forbidden(ApiError):
    status_code = 403
    error = "forbidden"


HOW = ("send `Authorization: Bearer <token>` (`innsight token --role ...` issues one) "
       "or a service key in `X-API-Key`")


# (token, secret, issuer) -> (principal, expiry)
_verified: dict[tuple[str, str, str], tuple[Principal, float]] = {}


def decode_token(token: str, settings: Settings) -> Principal:
    """The token's principal. A verified token is remembered until it expires: a client
    sends the same token on every call, and verifying it is a third of the auth cost."""
    key = (token, settings.jwt_secret.get_secret_value(), settings.jwt_issuer)
    known = _verified.get(key)
    if known is not None and known[1] > time.time():
        return known[0]
    principal, expires = _verify(token, settings)
    if len(_verified) >= 10_000:
        _verified.clear()
    _verified[key] = (principal, expires)
    return principal


def _verify(token: str, settings: Settings) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(token, settings.jwt_secret.get_secret_value(), algorithms=[ALGORITHM],
                            audience=AUDIENCE, issuer=settings.jwt_issuer,
                            options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the bearer token has expired: issue a new one") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("the bearer token's signature does not match this server's secret "
                           "(issued for another environment?)") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized(f"the bearer token is not for this API (audience must be '{AUDIENCE}')") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized(f"the bearer token was not issued by '{settings.jwt_issuer}'") from None
    except jwt.MissingRequiredClaimError as e:
        raise Unauthorized(f"the bearer token lacks the '{e.claim}' claim") from None
    except jwt.PyJWTError as e:
        raise Unauthorized(f"the bearer token is not a valid JWT ({e}); {HOW}") from None
    permissions = claims.get("permissions", [])
    roles = claims.get("roles", [])
    if not isinstance(permissions, list) or not isinstance(roles, list):
        raise Unauthorized("the bearer token's roles and permissions must be lists")
    return (Principal(str(claims["sub"]), "token", tuple(map(str, roles)),
                      frozenset(map(str, permissions)), claims.get("rate_limit")), float(claims["exp"]))


def api_key_principal(key: str, settings: Settings) -> Principal:
    digest = hashlib.sha256(key.encode()).hexdigest()
    for entry in settings.api_keys:
        if hmac.compare_digest(entry.sha256, digest):
            return Principal(entry.name, "api_key", tuple(entry.roles),
                             permissions_of(entry.roles), entry.rate_limit)
    raise Unauthorized("the X-API-Key is not a known service key (revoked, or mistyped?)")


# auto_error=False: the 401 is ours, with a message that says what to send.
bearer = HTTPBearer(auto_error=False, description="A JWT from `innsight token`.")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="A service API key from `innsight api-key`.")


# async: trivial CPU work; a plain def would cost a worker-thread round trip per request.
async def authenticate(request: Request,
                 credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                 key: str | None = Depends(api_key)) -> Principal:
    settings = request.app.state.settings
    if credentials is not None:
        return decode_token(credentials.credentials, settings)
    if key:
        return api_key_principal(key, settings)
    if request.headers.get("authorization"):
        raise Unauthorized(f"the Authorization header must use the Bearer scheme; {HOW}")
    raise Unauthorized(f"this endpoint needs credentials: {HOW}")


def require(permission: str):
    """A dependency: the authenticated caller, if it holds `permission` (and within its
    rate limit)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def dependency(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
        if permission not in principal.permissions and "admin" not in principal.permissions:
            granted = ", ".join(sorted(principal.permissions)) or "none"
            raise Forbidden(f"this endpoint needs the '{permission}' permission; "
                            f"{principal.kind} '{principal.subject}' has: {granted}")
        request.app.state.limiter.hit(principal)
        request.state.client = principal.subject
        return principal

    dependency.permission = permission
    return dependency
