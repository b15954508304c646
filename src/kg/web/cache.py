"""Rendered responses kept per process until the store changes.

A page is a function of the store's contents and of the request, so a rendered response can be
served again as long as the store's version (``QueryRunner.version_key()``: one ``stat`` of the
embedded store's ``kg-version`` marker) is the same. The runner already caches query results;
this cache also skips labelling, rendering and serialising, which is most of a warm page's time
(the country page of a country with hundreds of updates takes ~100 ms to render from cached
query results, and a dictionary lookup to serve from here).

What a response may depend on is all in the key: the store version, the scheme and host (pages
link with absolute URLs: the VoID description, the service description), the path, the query
string and the ``Accept`` header (content negotiation; the raw header, so the key never depends
on how a view negotiates). Only public, read-only pages use it: never the editor (per-user,
token-protected, CSRF tokens), and only 200 responses of requests that did not touch the session.
Errors (time-outs, a busy worker) raise, so they are never kept.

The whole cache is dropped as soon as a request sees another store version; it is bounded by
total body size (least recently used first out). Bodies over COMPRESS_FROM bytes are kept
zlib-compressed (the dataset and service descriptions run to tens of MB of Turtle at 100k
updates, about a tenth of that compressed); any that stays larger than a quarter of the bound
is served but not kept.

Warming: the first request that sees a new version also starts one background thread that
builds the home page and the countries index, whose queries scan every update (seconds each at
100k updates), so that the visitors who come next do not wait for them. The dataset statistics
(VoID, service description: ~10 s at 100k) are not warmed: machines ask for them rarely, and
warming them took a core from the first visitors after every load. Nothing runs until a request comes, and never twice for one version.
Apps in testing mode do not warm unless ``KG_WARM_PAGES`` is set in their config.
"""

from __future__ import annotations

import functools
import threading
import zlib
from collections import OrderedDict

from flask import Response, current_app, request

#: Total bytes of response bodies kept per app process.
MAX_BYTES = 64 * 1024 * 1024
#: Bodies at least this large are kept compressed (decompressing costs ~2 ms a MB; building them, seconds).
COMPRESS_FROM = 1024 * 1024
#: Response headers worth keeping (set by the views; the app adds the rest on every response).
_KEPT_HEADERS = ("Content-Type", "Content-Location", "Content-Disposition", "Vary", "Link")


class ResponseCache:
    """An LRU of (status, headers, body) per key, for one store version at a time; thread-safe."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self.version: tuple | None = None
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple, tuple[int, list[tuple[str, str]], bytes, bool]] = OrderedDict()
        self._lock = threading.Lock()
        self.new_version = False  # a version was seen for the first time (and warming not yet started)
        self.warmer: threading.Thread | None = None

    def take_new_version(self) -> bool:
        """True once after each change of version (who gets it starts the warming)."""
        with self._lock:
            seen, self.new_version = self.new_version, False
            return seen

    def get(self, version: tuple, key: tuple):
        """(status, headers, body) kept for KEY under VERSION, or None."""
        with self._lock:
            if version != self.version:
                self._reset(version)
                self.new_version = True
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        status, headers, body, compressed = entry
        return status, headers, zlib.decompress(body) if compressed else body

    def put(self, version: tuple, key: tuple, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        compressed = len(body) >= COMPRESS_FROM
        if compressed:
            body = zlib.compress(body, 1)
        if len(body) > self.max_bytes // 4:
            return
        with self._lock:
            if version != self.version:  # the store changed while this page was built: keep nothing
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old[2])
            self._entries[key] = (status, headers, body, compressed)
            self.size += len(body)
            while self.size > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped[2])

    def clear(self) -> None:
        with self._lock:
            self._reset(None)

    def __len__(self) -> int:
        return len(self._entries)

    def _reset(self, version) -> None:
        self._entries.clear()
        self.size = 0
        self.version = version


def response_cache() -> ResponseCache:
    """The current app's response cache (one per app, so per worker process)."""
    cache = current_app.extensions.get("kg_response_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("kg_response_cache", ResponseCache())
    return cache


def cached_page(view=None, *, negotiates: bool = True):
    """Serve the view's response from the cache while the store's version is unchanged.

    NEGOTIATES=False for views whose response does not depend on the Accept header (their key
    leaves it out, so every client shares one entry). The version is read before the page is
    built and the page is kept under that version, so a page built while a load was landing is
    at worst kept for the old version, which no later request asks for."""
    if view is None:
        return functools.partial(cached_page, negotiates=negotiates)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(*args, **kwargs)
        from . import get_runner

        cache = response_cache()
        version = get_runner().version_key()
        key = (
            request.scheme, request.host, request.path, request.query_string,
            request.headers.get("Accept", "") if negotiates else "",
        )
        entry = cache.get(version, key)
        if cache.take_new_version():
            start_warming(cache, version)
        if entry is not None:
            status, headers, body = entry
            return Response(body, status=status, headers=headers)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.direct_passthrough and not _session_touched():
            headers = [(name, value) for name, value in response.headers.items() if name in _KEPT_HEADERS]
            cache.put(version, key, response.status_code, headers, response.get_data())
        return response

    wrapper.cached_page = True  # marks the views that use it (tests check the editor's do not)
    return wrapper


#: What warming builds: pages whose queries scan every update.
WARM_PATHS = ("/", "/countries")


def start_warming(cache: ResponseCache, version: tuple) -> None:
    """Build the WARM_PATHS pages for VERSION in one background thread."""
    app = current_app._get_current_object()
    if app.testing and not app.config.get("KG_WARM_PAGES"):
        return
    if cache.warmer is not None and cache.warmer.is_alive():
        return  # a load landed while warming: that version is left to its visitors
    base_url = request.host_url
    paths = [path for path in WARM_PATHS if path != request.path]  # this request builds its own

    def warm():
        try:
            client = app.test_client()
            for path in paths:
                client.get(path, base_url=base_url, headers={"Accept": "text/html"})
        except Exception:  # a warm-up that fails (a time-out, the app closing) leaves the work to visitors
            app.logger.warning("warming the pages failed", exc_info=True)

    cache.warmer = threading.Thread(target=warm, name=f"kg-warm-{version}", daemon=True)
    cache.warmer.start()


def _session_touched() -> bool:
    """Whether the view read or wrote the session (then the response may be per-user).

    Looked up on the request context without going through ``flask.session``: since Flask 3.1.3
    merely reaching the session through the proxy marks it accessed."""
    from flask.globals import request_ctx

    state = vars(request_ctx._get_current_object())
    opened = state.get("_session", state.get("session"))
    return opened is not None and bool(getattr(opened, "accessed", True) or getattr(opened, "modified", True))


__all__ = ["MAX_BYTES", "WARM_PATHS", "ResponseCache", "cached_page", "response_cache", "start_warming"]
