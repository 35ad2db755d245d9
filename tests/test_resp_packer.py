"""RespPacker writes exactly the bytes redis-py's own packer writes, and the app's Redis client uses it."""

from __future__ import annotations

import random

import pytest
import redis
from redis.connection import Encoder, PythonRespSerializer

from services.clients import shared_redis
from services.resp_packer import BUFFER_CUTOFF, LONG_COMMAND, RespPacker, _pack_as_text

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


class Flag(int):
    """An int subclass: redis-py encodes it with int's repr; the text lane must leave it to the loop."""

    def __repr__(self) -> str:
        return "Flag!"


class Name(str):
    pass


def test_long_commands_take_the_text_lane_with_the_same_bytes():
    rng = random.Random(7)
    scalars = [
        lambda: rng.randint(-(2**70), 2**70),
        lambda: rng.random() * 10 ** rng.randint(-30, 30),
        lambda: rng.choice([0.0, -0.0, 1e16, 1e-7, 0.1, float("nan"), float("inf"), -float("inf"), 2.0**53]),
        lambda: "".join(chr(rng.randint(32, 126)) for _ in range(rng.randint(0, 20))),
        lambda: f"learner:bench-{rng.randint(0, 9999)}",
        lambda: rng.choice([b"GT", b"NX", b"", b"CH", b"x" * 40]),
    ]
    for _ in range(300):
        command = ("ZADD", *[rng.choice(scalars)() for _ in range(rng.randint(LONG_COMMAND, 200))])
        assert _pack_as_text(command) is not None  # the lane under test took it
        assert wire(RespPacker().pack(*command)) == wire(REFERENCE.pack(*command))


@pytest.mark.parametrize(
    "odd",
    [
        "é",
        "😀",
        "\x7f\x00",
        "x" * BUFFER_CUTOFF,
        "x" * (BUFFER_CUTOFF + 1),
        b"raw",
        b"\xff\xfe",
        b"\x80",
        "\x80",
        b"y" * (BUFFER_CUTOFF + 1),
        bytearray(b"a"),
        Flag(3),
        Name("n"),
    ],
)
def test_an_odd_argument_in_a_long_command_gets_redis_py_bytes(odd):
    for place in (1, LONG_COMMAND // 2, LONG_COMMAND + 3):
        command = ["EVALSHA", "sha", 1, "key", *range(LONG_COMMAND + 3)]
        command.insert(place, odd)
        ours, theirs = RespPacker().pack(*command), REFERENCE.pack(*command)
        assert wire(ours) == wire(theirs)
        if isinstance(odd, (str, bytes)) and len(odd) > BUFFER_CUTOFF:  # redis-py's chunks: the value not copied
            assert [bytes(chunk) for chunk in ours] == [bytes(chunk) for chunk in theirs]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ascii", "utf-16", "utf-32"])
def test_long_commands_in_other_encodings(encoding):
    """Each argument encoded on its own, as RespPacker always did. (For UTF-16 and UTF-32 redis-py writes the
    command name in UTF-8 whatever the encoding; RespPacker never did, and no client of ours uses them.)"""
    command = ("ZMSCORE", "watched", *[f"learner:L{i}" for i in range(50)], 2.5, 7)
    data = [arg.encode(encoding) if type(arg) is str else repr(arg).encode() for arg in command]  # numbers: ASCII
    expected = b"*%d\r\n" % len(command) + b"".join(b"$%d\r\n%s\r\n" % (len(item), item) for item in data)
    assert wire(RespPacker(encoding).pack(*command)) == expected


def test_refuses_what_redis_py_refuses_in_long_commands():
    for value in (True, None, object()):
        with pytest.raises(redis.DataError):
            RespPacker().pack("SADD", "k", *range(LONG_COMMAND), value)


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
