"""Reading a `docker exec` stream on the host: docker's multiplexed frames against a deadline, and an
output buffer that keeps the head and tail of a stream of any length."""

from __future__ import annotations

import collections
import socket
import struct
import time


class CappedOutput:
    """Keeps the first and last `cap // 2` bytes of a stream, counting what falls in between."""

    def __init__(self, cap: int | None):
        self.cap = cap
        self.head = bytearray()
        self.tail: collections.deque[bytes] = collections.deque()
        self.tail_len = 0
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        if self.cap is None:
            self.head += data
            return
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail.append(data)
            self.tail_len += len(data)
            while self.tail and self.tail_len - len(self.tail[0]) >= self.cap // 2:
                self.tail_len -= len(self.tail.popleft())

    def bytes(self) -> bytes:
        tail = b"".join(self.tail)
        if self.cap is not None:
            tail = tail[-(self.cap // 2) :] if self.cap // 2 else b""
        omitted = self.total - len(self.head) - len(tail)
        if omitted <= 0:
            return bytes(self.head) + tail
        return bytes(self.head) + f"\n[... {omitted} bytes of output omitted ...]\n".encode() + tail


def read_frame(raw: socket.socket, deadline: float) -> tuple[int, bytes] | None:
    """One frame of docker's multiplexed stream (8-byte header: stream id, size), or None at EOF;
    TimeoutError once `deadline` (time.monotonic) has passed."""
    header = _read_exactly(raw, 8, deadline)
    if header is None:
        return None
    stream, size = struct.unpack(">BxxxL", header)
    data = _read_exactly(raw, size, deadline)
    if data is None:
        return None
    return stream, data


def _read_exactly(raw: socket.socket, n: int, deadline: float) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        raw.settimeout(left)
        try:
            chunk = raw.recv(min(n - len(buf), 1 << 20))
        except TimeoutError:
            raise
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)
