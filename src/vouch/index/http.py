"""Bounded HTTP for index clients: an overall deadline per request, size caps, same-host redirects.

httpx's ``timeout`` bounds each read, so a server that drips one byte at a time is never cut off
by it. Here every request gets a deadline: the network streams under httpx clamp each read and
write (headers included) to the time left, and body loops check it too. Redirects are followed
only to the host the request was made to (``http`` may become ``https``, never the reverse);
anything else is a ``NetworkError``, never a file credited to the index it was asked of. Bodies
are read up to a cap, and a body that exceeds it is refused while it streams.

URLs in messages have their userinfo (``user:password@``) removed: see ``vouch.index.urls``.

This module is part of the host seam (``vouch.host``): beside :meth:`vouch.host.Host.http_client`,
:class:`BoundedClient` is the one other place that makes an ``httpx.Client``, on the transport it
is given (the host's; tests give a loopback or mock one) or else :class:`DeadlineTransport`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from vouch import __version__
from vouch.errors import NetworkError
from vouch.index.urls import redact

MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}
_local = threading.local()


def _clamp(timeout: float | None) -> float:
    """The time an operation may take: httpx's per-operation timeout, at most what the deadline leaves."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout if timeout is not None else 3600.0
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:  # fmt: skip
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:  # fmt: skip
        return _DeadlineStream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport, on network streams that honour the current request's deadline."""

    def __init__(self) -> None:
        super().__init__()
        # httpx does not take a network backend; its pool does (the same pool, with ours)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,  # httpx's defaults
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Within the block, every read and write on a ``DeadlineTransport`` ends by ``seconds`` from now."""
    previous = getattr(_local, "deadline", None)
    at = time.monotonic() + seconds
    _local.deadline = at if previous is None else min(previous, at)
    try:
        yield _local.deadline
    finally:
        _local.deadline = previous


def same_origin(origin: httpx.URL, target: httpx.URL) -> bool:
    """A redirect from ``origin`` may go to ``target``: the same host, and the same scheme and port
    (or an upgrade from http to https on the default ports)."""
    if target.host != origin.host or target.scheme not in _DEFAULT_PORTS:
        return False
    port = origin.port or _DEFAULT_PORTS[origin.scheme]
    target_port = target.port or _DEFAULT_PORTS[target.scheme]
    if target.scheme == origin.scheme:
        return target_port == port
    return (origin.scheme, target.scheme) == ("http", "https") and origin.port is None and target.port is None


class BoundedClient:
    """GET requests with a deadline, same-host redirects and a body size cap."""

    def __init__(self, *, transport: httpx.BaseTransport | None, timeout: float, deadline: float) -> None:
        self.deadline = deadline
        self._client = httpx.Client(
            transport=transport if transport is not None else DeadlineTransport(),
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": f"vouch/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def stream(
        self, url: str, headers: dict[str, str] | None = None, *, doing: str = "fetching"
    ) -> Iterator[httpx.Response]:
        """The response to GET ``url`` (redirects on the same host followed), not yet read.
        httpx errors, other hosts and the deadline become NetworkError."""
        with deadline(self.deadline):
            try:
                current = httpx.URL(url)
                for _ in range(MAX_REDIRECTS + 1):
                    request = self._client.build_request("GET", current, headers=headers)
                    response = self._client.send(request, stream=True)
                    if not response.is_redirect:
                        break
                    location = response.headers.get("location", "")
                    response.close()
                    target = current.join(location)
                    if not same_origin(current, target):
                        raise NetworkError(
                            f"{redact(str(current))} redirected to another host ({redact(str(target))}); "
                            "vouch follows redirects only on the host it was asked to read from",
                            hint="give the URL that the index really serves from",
                        )
                    current = target
                else:
                    raise NetworkError(f"{redact(url)} redirected more than {MAX_REDIRECTS} times")
                try:
                    yield response
                finally:
                    response.close()
            except httpx.TimeoutException as exc:
                raise NetworkError(f"{redact(url)} did not answer within {self.deadline:g} s") from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise NetworkError(f"{doing} {redact(url)} failed: {_one_line(exc)}") from exc

    def iter_body(self, response: httpx.Response, limit: int, what: str) -> Iterator[bytes]:
        """The body's chunks, refused as soon as it exceeds ``limit`` bytes or its deadline passes."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise NetworkError(f"{what} is {int(declared)} bytes, more than the {limit} allowed")
        at: float = getattr(_local, "deadline", None) or time.monotonic() + self.deadline
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                raise NetworkError(f"{what} is larger than the {limit} bytes allowed")
            if time.monotonic() > at:
                raise NetworkError(f"{what} did not arrive within {self.deadline:g} s")
            yield chunk

    def read(self, response: httpx.Response, limit: int, what: str) -> bytes:
        return b"".join(self.iter_body(response, limit, what))


def _one_line(exc: BaseException) -> str:
    text = redact(str(exc).strip())
    return text.splitlines()[0] if text else type(exc).__name__
