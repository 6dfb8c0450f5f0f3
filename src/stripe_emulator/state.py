"""The emulator's in-memory world: clock, ids, object store, idempotency records.

Every API object is stored as its public JSON dict (:class:`Stored.obj`) in the
namespace of the account that owns it (a platform or a connected account),
plus private data that Stripe never returns (card numbers, hosted-page tokens,
which platform a connected account belongs to...).  All mutation happens while
holding :attr:`State.lock`, an ``asyncio.Lock``: the emulator is one process
and request handlers run their whole operation under it.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import re
import secrets
import string
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

ALPHABET = string.ascii_letters + string.digits
DAY = 86400
SECRET_KEY = re.compile(r"^sk_test_[A-Za-z0-9_]{8,}$")
DEFAULT_COUNTRY = "LU"


def _b62(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    out: list[str] = []
    while len(out) < length:
        number, rem = divmod(number, 62)
        out.append(ALPHABET[rem])
    return "".join(out)


def account_id_for_key(secret_key: str) -> str:
    """The platform account id a secret key stands for (stable across restarts)."""
    digest = hashlib.sha256(secret_key.encode()).digest()
    return "acct_1" + _b62(digest, 15)


@dataclass
class Stored:
    obj: dict[str, Any]
    owner: str
    seq: int
    private: dict[str, Any] = field(default_factory=dict)


@dataclass
class IdemRecord:
    fingerprint: str
    status: int
    body: bytes
    headers: dict[str, str]
    created: int


class Clock:
    """Emulator time: the wall clock plus an offset that tests can advance."""

    def __init__(self) -> None:
        self.offset = 0

    def now(self) -> int:
        return int(time.time()) + self.offset

    def advance(self, seconds: int) -> None:
        self.offset += seconds


class State:
    """All objects of all platforms; persisted as a whole when a state file is set."""

    def __init__(self) -> None:
        self._fresh()
        self.lock = asyncio.Lock()
        # The secret keys this emulator accepts, each with its platform's country.
        # Keys are configuration, not data: a reset keeps them.
        self.keys: dict[str, str] = {}
        self.platform_countries: dict[str, str] = {}  # acct_ of each key -> its country

    def _fresh(self) -> None:
        self.clock = Clock()
        self.objects: dict[str, Stored] = {}
        self.index: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.by_kind: dict[str, list[str]] = defaultdict(list)
        self.pending_txns: set[str] = set()  # balance transactions not yet available
        self.open_payouts: set[str] = set()  # payouts not yet paid/failed/canceled
        self.idempotency: dict[tuple[str, str, str], IdemRecord] = {}
        self.tokens: dict[str, dict[str, Any]] = {}  # hosted page tokens
        self.outbox: list[tuple[str, str, str | None]] = []  # (event, endpoint, version)
        self.seq = 0
        self.last_tick = self.clock.now()
        # knobs for tests (control API)
        self.platform_available_delay_days = 2
        self.next_refund_outcome: str | None = None
        self.next_payout_failure: dict[str, str | None] | None = None

    # -- keys ------------------------------------------------------------------
    def register_key(self, secret_key: str, country: str = DEFAULT_COUNTRY) -> str:
        """Accept ``secret_key`` from now on; returns the platform account it stands for."""
        if not SECRET_KEY.match(secret_key):
            raise ValueError("a secret key is sk_test_ followed by 8 or more of [A-Za-z0-9_]")
        self.keys[secret_key] = country
        account = account_id_for_key(secret_key)
        self.platform_countries[account] = country
        return account

    # -- ids and time ----------------------------------------------------------
    def now(self) -> int:
        return self.clock.now()

    @staticmethod
    def new_id(prefix: str, length: int = 24) -> str:
        return f"{prefix}_1" + "".join(secrets.choice(ALPHABET) for _ in range(length - 1))

    @staticmethod
    def secret(length: int = 25) -> str:
        return "".join(secrets.choice(ALPHABET) for _ in range(length))

    # -- store -----------------------------------------------------------------
    def add(self, obj: dict[str, Any], owner: str, **private: Any) -> Stored:
        self.seq += 1
        stored = Stored(obj=obj, owner=owner, seq=self.seq, private=dict(private))
        self.objects[obj["id"]] = stored
        self.index[(owner, obj["object"])].append(obj["id"])
        self.by_kind[obj["object"]].append(obj["id"])
        return stored

    def all_kind(self, kind: str) -> list[Stored]:
        """Every object of one type in every account, oldest first."""
        return [self.objects[i] for i in self.by_kind.get(kind, []) if i in self.objects]

    def get(self, obj_id: str) -> Stored | None:
        return self.objects.get(obj_id)

    def find(self, obj_id: str, kind: str, owner: str) -> Stored | None:
        stored = self.objects.get(obj_id)
        if stored is None or stored.obj.get("object") != kind or stored.owner != owner:
            return None
        if stored.private.get("deleted"):
            return None
        return stored

    def all_of(self, owner: str, kind: str) -> list[Stored]:
        """Objects of one type in one account, newest first."""
        ids = self.index.get((owner, kind), [])
        out = [self.objects[i] for i in reversed(ids) if i in self.objects]
        return [s for s in out if not s.private.get("deleted")]

    def snapshot(self, obj: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(obj)

    def reset(self) -> None:
        """Forget everything (the clock too); keeps the lock so waiters stay valid."""
        self._fresh()
