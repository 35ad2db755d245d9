"""RespPacker writes exactly the bytes redis-py's own packer writes, and the app's Redis client uses it."""

from __future__ import annotations

import random

import pytest
import redis
from redis.connection import Encoder, PythonRespSerializer

from services.clients import shared_redis
from services.resp_packer import BUFFER_CUTOFF, RespPacker

REFERENCE = PythonRespSerializer(BUFFER_CUTOFF, Encoder("utf-8", "strict", False).encode)
COMMANDS = [
    ("PING",),
    ("SET", "key", "value"),
    ("SET", "k", ""),
    ("ZMSCORE", "watched", *[f"learner:L{i}" for i in range(1000)]),
    ("EVALSHA", "abc", 2, "k1", "k2", 120, *range(-5, 1000)),
    ("ZADD", "z", 1.5, "a", -0.0, "b", 1e-7, "c", 1e300, "d", 2**70, "e"),
    ("PUBLISH", "section:s1", '{"é":"😀","q":"\\"","nl":"\\n"}'),
    ("SET", b"raw\x00bytes", b"\xff\xfe"),
    ("SET", "big", "x" * (BUFFER_CUTOFF + 1)),
    ("SET", "big", b"y" * 100_000),
    ("SET", "mv", memoryview(b"view")),
    ("SET", "ba", bytearray(b"array")),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT SETNAME", "me"),
    (b"GET", "k"),
    ("SCRIPT LOAD", "return 1"),
]


def wire(chunks: list) -> bytes:
    return b"".join(bytes(chunk) for chunk in chunks)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: str(command[0]))
def test_same_bytes_as_redis_py(command):
    assert wire(RespPacker().pack(*command)) == wire(REFERENCE.pack(*command))


def test_random_commands_match():
    rng = random.Random(5)
    pool = [
        lambda: rng.randint(-(2**70), 2**70),
        lambda: rng.random() * 10 ** rng.randint(-30, 30),
        lambda: "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 20))),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randint(0, 20))),
    ]
    for _ in range(500):
        command = ("HSET", *[rng.choice(pool)() for _ in range(rng.randint(1, 30))])
        assert wire(RespPacker().pack(*command)) == wire(REFERENCE.pack(*command))


def test_refuses_what_redis_py_refuses():
    for value in (True, None, object()):
        with pytest.raises(redis.DataError):
            RespPacker().pack("SET", "k", value)


def test_the_app_client_packs_with_it_and_round_trips(app):
    client = shared_redis(app.config["REDIS_URL"])
    assert type(client.connection_pool.connection_kwargs["command_packer"]) is RespPacker
    values = {"plain": "v", "uni": "é 😀", "bytes": b"\x00\xff", "int": 7, "float": 2.5, "big": "z" * 20_000}
    client.mset({f"packer:{k}": v for k, v in values.items()})
    got = client.mget([f"packer:{k}" for k in values])
    assert got == [b"v", "é 😀".encode(), b"\x00\xff", b"7", b"2.5", b"z" * 20_000]
    assert client.zmscore("packer:none", [f"m{i}" for i in range(1000)]) == [None] * 1000
    client.delete(*[f"packer:{k}" for k in values])
