"""Who is calling: JWT bearer tokens and service API keys, roles and permissions.

A token carries its subject, roles and the permissions those roles grant at issue time
(``innsight token`` issues one with ``issue_token``). A service API key (header
``X-API-Key``) is configured as the SHA-256 of the key with its roles (``innsight api-key``
makes one with ``new_api_key``). The app checks credentials with one ``Authenticator``;
routes declare the permission they need through ``serving.deps`` (``MlReader``, ...).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from base.settings import ApiKey, Settings
from serving.core.errors import ApiError, Message

AUDIENCE = "innsight-api"
ALGORITHM = "HS256"

PERMISSIONS = {
    "ml:read": "predictions, forecasts, prices and recommendations",
    "cv:read": "face recognition, image search and room analysis",
    "cv:write": "enrol faces, index images, erase a person's face data",
    "llm:query": "the staff assistant and request routing",
    "events:write": "post booking, room-status and attendance events",
    "metrics:read": "Prometheus metrics",
    "ops:read": "tasks, notifications and service logs",
    "ops:write": "assign and close tasks, acknowledge and re-send notifications, post service logs",
    "workflows:run": "trigger, cancel and list workflow runs; switch schedules and sensors",
    "contacts:erase": "erase a guest's contact details from the vault",
    "reports:read": "the rendered daily, weekly and monthly reports",
    "reports:write": "subscribe addresses to the reports, change and end subscriptions",
    "admin": "retrain models and everything else",
}
ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "revenue_manager": frozenset({"ml:read", "llm:query", "reports:read"}),
    # a general manager: reads the reports and chooses who receives them
    "manager": frozenset({"reports:read", "reports:write", "ml:read", "ops:read", "metrics:read"}),
    "front_desk": frozenset({"ml:read", "llm:query", "events:write", "ops:read", "ops:write",
                             "contacts:erase"}),
    "housekeeping": frozenset({"cv:read", "llm:query", "events:write", "ops:read", "ops:write"}),
    "security": frozenset({"cv:read", "cv:write", "events:write", "ops:read", "ops:write"}),
    "monitoring": frozenset({"metrics:read", "ops:read"}),
    # reports:read: they re-run a report's job when one is missing, and check it is there
    "operations": frozenset({"ops:read", "ops:write", "workflows:run", "metrics:read",
                             "reports:read"}),
    # systems: the PMS sync, door controllers, camera pipelines, services posting their logs
    "service": frozenset({"ml:read", "cv:read", "events:write", "ops:write"}),
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


def issue_token(subject: str, roles: list[str], *, settings: Settings,
                ttl: timedelta | None = None, rate_limit: str | None = None) -> str:
    """A token signed with ``settings``' secret for `subject` with the permissions of
    `roles`, valid ``ttl`` (default: ``settings.token_ttl_minutes``)."""
    s = settings
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
NO_CREDENTIALS = Message(f"this endpoint needs credentials: {HOW}")
NOT_PERMITTED = Message("this endpoint needs the '{permission}' permission; "
                        "{kind} '{subject}' has: {granted}")


class Authenticator:
    """Checks credentials against one configuration: the JWT secret and issuer, and the
    service API keys. Built once by the app; verified tokens are remembered until they
    expire (a client sends the same token on every call, and verifying it is a third of
    the auth cost)."""

    def __init__(self, jwt_secret: str, issuer: str, api_keys: list[ApiKey] | tuple = ()):
        self._secret, self.issuer = jwt_secret, issuer
        self._keys = tuple(api_keys)
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, expiry)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Authenticator":
        return cls(settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.api_keys)

    def token(self, token: str) -> Principal:
        """The token's principal; 401 naming what is wrong with it."""
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= 10_000:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                                issuer=self.issuer, options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the bearer token has expired: issue a new one") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("the bearer token's signature does not match this server's secret "
                               "(issued for another environment?)") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(f"the bearer token is not for this API (audience must be '{AUDIENCE}')") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized(f"the bearer token was not issued by '{self.issuer}'") from None
        except jwt.MissingRequiredClaimError as e:
            raise Unauthorized(f"the bearer token lacks the '{e.claim}' claim") from None
        except jwt.PyJWTError as e:
            raise Unauthorized(f"the bearer token is not a valid JWT ({e}); {HOW}") from None
        permissions = claims.get("permissions", [])
        roles = claims.get("roles", [])
        if not isinstance(permissions, list) or not isinstance(roles, list):
            raise Unauthorized("the bearer token's roles and permissions must be lists")
        return (Principal(str(claims["sub"]), "token", tuple(map(str, roles)),
                          frozenset(map(str, permissions)), claims.get("rate_limit")),
                float(claims["exp"]))

    def api_key(self, key: str) -> Principal:
        """The service of an X-API-Key; 401 when it is not a configured key."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        for entry in self._keys:
            if hmac.compare_digest(entry.sha256, digest):
                return Principal(entry.name, "api_key", tuple(entry.roles),
                                 permissions_of(entry.roles), entry.rate_limit)
        raise Unauthorized("the X-API-Key is not a known service key (revoked, or mistyped?)")


def check_permission(principal: Principal, permission: str) -> None:
    """403 unless the principal holds `permission` (or admin)."""
    if permission not in principal.permissions and "admin" not in principal.permissions:
        raise Forbidden(not_permitted(permission, principal))


def not_permitted(permission: str, principal: Principal) -> str:
    """The 403's message: the permission needed and what the caller has."""
    granted = ", ".join(sorted(principal.permissions)) or "none"
    return NOT_PERMITTED.format(permission=permission, kind=principal.kind,
                                subject=principal.subject, granted=granted)
