"""Revoking a user's credentials: every token and sign-in session issued before now stops working.

One timestamp per user (users.tokens_valid_after_ms) instead of a list of every token ever issued:
rotating an integration's credential is "revoke, then issue a new one"."""

from __future__ import annotations

import secrets
import time

import redis

from models import User
from services.audit import record

# A random value replaced after every change of who may use which credential. Web processes remember
# verified tokens only under the value they read with the request (api.auth.token_cache), so replacing
# it invalidates every remembered verification everywhere at once. Random rather than a counter: after
# a Redis restart the key is set afresh and matches nothing remembered before.
GENERATION_KEY = "learnpulse:credentials:generation"


def revoke_tokens(user: User, actor_id: int | None, actor: str) -> int:
    """Refuse every token and session of `user` issued until now; returns the cut-off (epoch ms).
    The caller commits, then closes the user's open sockets (api.realtime.announce.revoke_sockets)."""
    cutoff = int(time.time() * 1000) + 1
    user.tokens_valid_after_ms = cutoff
    record("token.revoked", f"user:{user.external_id}", actor_id, actor, valid_after_ms=cutoff)
    return cutoff


def wait_past(cutoff_ms: int) -> None:
    """Sleep until the clock is past a cut-off, so a token issued next is not revoked with the old ones."""
    delay = (cutoff_ms - time.time() * 1000) / 1000
    if delay > 0:
        time.sleep(delay + 0.001)


def credentials_generation(client: redis.Redis) -> bytes:
    """The current credentials generation (created if Redis has none), in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.set(GENERATION_KEY, secrets.token_hex(8), nx=True)
    pipe.get(GENERATION_KEY)
    return pipe.execute()[1]


def credentials_changed(client: redis.Redis) -> None:
    """After a commit that took access away: every remembered token verification is void."""
    client.set(GENERATION_KEY, secrets.token_hex(8))
