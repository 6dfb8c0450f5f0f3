"""Request and response bodies of login, who-am-i, API tokens and staff management.

Rule: no response model has a field for a password hash or a token hash; the
token secret appears only in `TokenCreated`, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from storeplex.auth.passwords import MAX_PASSWORD_LENGTH
from storeplex.auth.secrets import MIN_PASSWORD_LENGTH
from storeplex.auth.service import MAX_TOKEN_DAYS
from storeplex.models import ApiToken, PlatformAdmin, StaffInvitation, StaffUser, Store


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not EmailStr: an account whose address a newer validator dislikes must still log in.
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    # With two-factor sign-in on: the authenticator app's current code, or a recovery code.
    code: str | None = Field(default=None, max_length=64)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class ResetAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["staff", "admin"]
    email: str = Field(min_length=3, max_length=320)


class ResetComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class Notice(BaseModel):
    message: str


class PasswordChanged(BaseModel):
    csrf_token: str = Field(description="The new session's CSRF token; the old ones are dead")


class StaffOut(BaseModel):
    id: int
    email: str
    name: str | None
    role: str

    @classmethod
    def of(cls, user: StaffUser) -> StaffOut:
        return cls(id=user.id, email=user.email, name=user.name, role=user.role)


class StoreRef(BaseModel):
    id: int
    slug: str
    name: str

    @classmethod
    def of(cls, store: Store) -> StoreRef:
        return cls(id=store.id, slug=store.slug, name=store.name)


class AdminOut(BaseModel):
    id: int
    email: str

    @classmethod
    def of(cls, admin: PlatformAdmin) -> AdminOut:
        return cls(id=admin.id, email=admin.email)


class StaffLoginResponse(BaseModel):
    csrf_token: str
    staff: StaffOut
    store: StoreRef


class AdminLoginResponse(BaseModel):
    csrf_token: str
    admin: AdminOut


class TokenRef(BaseModel):
    id: int
    name: str
    prefix: str


class MeResponse(BaseModel):
    kind: Literal["staff", "admin"]
    via: Literal["session", "token"]
    staff: StaffOut | None = None
    store: StoreRef | None = None
    admin: AdminOut | None = None
    token: TokenRef | None = None
    role: str | None = None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_TOKEN_DAYS, strict=True)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> TokenOut:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.token_prefix,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="The secret; shown only in this response")
    prefix: str
    expires_at: datetime | None


class TokenList(BaseModel):
    data: list[TokenOut]
    has_more: bool


class TwoFactorSetup(BaseModel):
    secret: str = Field(description="Type this into the authenticator app; shown only now")
    otpauth_uri: str


class TwoFactorCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)


class TwoFactorOn(BaseModel):
    recovery_codes: list[str] = Field(description="Each signs in once; shown only now")


class TwoFactorOff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    code: str = Field(min_length=1, max_length=64)


class StaffCreate(BaseModel):
    """An invitation to join the staff; the invitee chooses their password."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    role: Literal["owner", "staff"] = "staff"


class InvitationOut(BaseModel):
    id: int
    email: str
    name: str | None
    role: str
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, row: StaffInvitation) -> InvitationOut:
        return cls(
            id=row.id, email=row.email, name=row.name, role=row.role,
            created_at=row.created_at, expires_at=row.expires_at,
        )  # fmt: skip


class StaffInvited(BaseModel):
    message: str
    invitation: InvitationOut


class InvitationList(BaseModel):
    data: list[InvitationOut]


class StaffJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    name: str | None = Field(default=None, max_length=200)


class StaffList(BaseModel):
    data: list[StaffOut]
    has_more: bool
