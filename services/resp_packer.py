"""Redis commands packed into the wire protocol (RESP) with one join per command.

redis-py packs in Python (hiredis, its C packer, is not a dependency of ours) and re-joins a growing
buffer for every argument: the two look-ups that follow a 1,000-event batch (ZMSCORE of 1,000 channels,
the evaluation script with 1,000 learner ids) cost 2.5-3 ms of web CPU, a tenth of the batch. This packer
writes the same bytes; any argument it does not handle itself (not an exact str, bytes, int or float, or
longer than redis-py's buffer cutoff) sends the whole command through redis-py's own packer.
"""

from __future__ import annotations

from typing import Any

from redis.connection import Encoder, PythonRespSerializer

BUFFER_CUTOFF = 6000  # redis-py's: longer values go out as chunks of their own, never copied
LONG_COMMAND = 16  # arguments from which a command is first tried as one text (_pack_as_text)
_TEXT_KINDS = {str, int, float, bytes}  # bytes: redis-py's own tokens (b"GT" in ZADD), ASCII checked with the rest


class RespPacker:
    """A `command_packer` for redis-py connections (redis.Connection's constructor argument)."""

    def __init__(self, encoding: str = "utf-8", errors: str = "strict") -> None:
        self.encoding, self.errors = encoding, errors
        self._reference = PythonRespSerializer(BUFFER_CUTOFF, Encoder(encoding, errors, False).encode)
        self._ascii_as_is = "".join(map(chr, range(128))).encode(encoding, errors) == bytes(range(128))

    def pack(self, *args: Any) -> list[bytes]:
        """The command's RESP bytes (one chunk), or redis-py's chunks when an argument is unusual."""
        if type(args[0]) is not str or " " in args[0]:  # multi-word names ("CONFIG GET"): redis-py splits them
            return self._reference.pack(*args)
        if len(args) >= LONG_COMMAND and self._ascii_as_is:
            packed = _pack_as_text(args)
            if packed is not None:
                return packed
        parts = [b"*%d\r\n" % len(args)]
        encoding, errors = self.encoding, self.errors
        for arg in args:
            kind = type(arg)
            if kind is str:
                data = arg.encode(encoding, errors)
            elif kind is bytes:
                data = arg
            elif kind is int or kind is float:
                data = repr(arg).encode()
            else:  # bool (refused), bytearray, memoryview, subclasses: as redis-py does it
                return self._reference.pack(*args)
            if len(data) > BUFFER_CUTOFF:
                return self._reference.pack(*args)
            parts += (b"$%d\r\n" % len(data), data, b"\r\n")
        return [b"".join(parts)]


def _pack_as_text(args: tuple[Any, ...]) -> list[bytes] | None:
    """A long command (1,000 learner ids, channels or scores after a batch) written as one str and encoded once:
    the same bytes as pack's loop when every argument is an exact str, int, float or bytes, the whole text is ASCII (so
    each character is one byte in the encoding: checked by the caller) and no argument is longer than
    BUFFER_CUTOFF; else None, and pack's loop decides."""
    kinds = set(map(type, args))
    if not kinds <= _TEXT_KINDS:
        return None
    texts = args if kinds == {str} else list(map(_as_text, args))
    if max(map(len, texts)) > BUFFER_CUTOFF:
        return None
    text = "".join([f"${len(arg)}\r\n{arg}\r\n" for arg in texts])
    if not text.isascii():
        return None
    return [f"*{len(args)}\r\n{text}".encode()]


def _as_text(arg: str | int | float | bytes) -> str:
    """An argument as the text of its bytes: str as it is, numbers as repr writes them, bytes one character per
    byte (a byte beyond ASCII then fails the caller's isascii, and the loop writes it)."""
    kind = type(arg)
    if kind is str:
        return arg  # type: ignore[return-value]
    if kind is bytes:
        return arg.decode("latin-1")  # type: ignore[union-attr]
    return repr(arg)
