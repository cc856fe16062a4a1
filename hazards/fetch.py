"""HTTP fetching of feeds: conditional GET, timeouts, retries with backoff.

A feed is asked with the ETag and Last-Modified of its previous answer, so an unchanged
feed costs a 304 and no parsing. Connection errors, timeouts, 429 and 5xx answers are
retried by urllib3's `Retry` with exponential backoff (honouring Retry-After), a bounded
number of times so that one poll never outlasts the poll interval by much. The body is
read up to `max_bytes`: a feed that suddenly streams gigabytes is refused, not loaded.
"""
from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "consular-emergency-response feed poller (+https://github.com/)"
MAX_BYTES = 32 * 1024 * 1024


class FetchError(RuntimeError):
    """The feed could not be fetched (after the retries)."""


@dataclass
class FetchResult:
    status: int  # 200, or 304 when unchanged
    body: bytes | None
    etag: str | None
    last_modified: str | None

    @property
    def unchanged(self) -> bool:
        return self.status == 304


def session(retries: int = 2, backoff: float = 0.5) -> requests.Session:
    retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                  status_forcelist=(429, 500, 502, 503, 504), allowed_methods=frozenset(["GET"]),
                  respect_retry_after_header=True, raise_on_status=False)
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    return s


def fetch(url: str, etag: str | None = None, last_modified: str | None = None, timeout: float = 20.0,
          retries: int = 2, backoff: float = 0.5, max_bytes: int = MAX_BYTES,
          http: requests.Session | None = None) -> FetchResult:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = http is None
    http = http or session(retries, backoff)
    try:
        response = http.get(url, headers=headers, timeout=(min(timeout, 10.0), timeout), stream=True)
        try:
            if response.status_code == 304:
                return FetchResult(304, None, etag, last_modified)
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code} from {url}")
            chunks, size = [], 0
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"{url} is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return FetchResult(200, b"".join(chunks), response.headers.get("ETag"),
                               response.headers.get("Last-Modified"))
        finally:
            response.close()
    except requests.RequestException as exc:
        raise FetchError(f"{type(exc).__name__} fetching {url}: {exc}") from None
    finally:
        if own:
            http.close()
