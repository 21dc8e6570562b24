"""Tokens and access rules: who may publish, read and subscribe, decided in this one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import jwt

from domain.patients import Patient
from realtime.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
DEFAULT_TOKEN_TTL_S = 3600
MAX_SUB_LENGTH = 128


class Role(StrEnum):
    PATIENT = "patient"
    THERAPIST = "therapist"
    SERVICE = "service"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's ``role`` and ``sub``."""

    role: Role
    sub: str

    @property
    def is_trusted(self) -> bool:
        return self.role in (Role.SERVICE, Role.ADMIN)

    def may_publish_for(self, patient_id: str) -> bool:
        return self.is_trusted or (self.role is Role.PATIENT and self.sub == patient_id)

    def may_register_patients(self) -> bool:
        return self.is_trusted

    def may_read_patient(self, patient: Patient | None, patient_id: str) -> bool:
        """Whether this principal may see the patient's data (or learn it does not exist)."""
        if self.is_trusted:
            return True
        if self.role is Role.PATIENT:
            return self.sub == patient_id
        return patient is not None and patient.therapist_id == self.sub

    def may_read_therapist(self, therapist_id: str) -> bool:
        return self.role is Role.ADMIN or (self.role is Role.THERAPIST and self.sub == therapist_id)

    def may_read_audit(self) -> bool:
        return self.role is Role.ADMIN

    def is_patient(self, patient_id: str) -> bool:
        """Whether this is the patient's own client (celebrations are for its eyes)."""
        return self.role is Role.PATIENT and self.sub == patient_id

    def practice_to_read(self, therapist_id: str | None) -> str | None:
        """The therapist whose practice a practice-wide read covers; ``None`` means everyone.

        A therapist reads its own practice; service and admin read one therapist's practice or,
        without ``therapist_id``, every patient; a patient reads no practice.

        Raises:
            Forbidden: outside the principal's rights.
        """
        if self.role is Role.THERAPIST:
            if therapist_id not in (None, self.sub):
                raise Forbidden("a therapist reads its own practice only")
            return self.sub
        if not self.is_trusted:
            raise Forbidden("practice analytics are for therapists, service and admin")
        return therapist_id


_TIME_CLAIMS = ("exp", "nbf", "iat")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def issue_token(secret: str, role: Role, sub: str, ttl_s: int, now: datetime) -> str:
    """A signed token for ``sub`` in ``role`` that expires after ``ttl_s`` seconds."""
    claims = {"sub": sub, "role": role.value, "exp": now + timedelta(seconds=ttl_s)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str | None) -> Principal:
    """Check a token's signature, expiry and claims.

    Raises:
        Unauthorized: with a reason fit to show the caller (never the token itself).
    """
    if not token:
        raise Unauthorized("missing token")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "role", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token") from None
    # PyJWT checks time claims with ``int(...)``, which also takes a numeric string; RFC 7519
    # makes them JSON numbers, so anything else is refused.
    for claim in _TIME_CLAIMS:
        if claim in claims and not _is_number(claims[claim]):
            raise Unauthorized(f"invalid token: {claim} must be a number")
    sub, role = claims.get("sub"), claims.get("role")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_LENGTH:
        raise Unauthorized("invalid token: bad sub")
    try:
        return Principal(Role(str(role)), sub)
    except ValueError:
        raise Unauthorized("invalid token: unknown role") from None


def bearer_token(authorization: str | None) -> str | None:
    """The token from an ``Authorization: Bearer …`` header value."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
