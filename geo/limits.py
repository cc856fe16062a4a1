"""What reading one uploaded zone file may cost, counted while it is read.

A zone file is small on the wire and may be enormous inside: a zip that unpacks to
gigabytes, a KML of a million placemarks, a GeoPackage whose layer is a view that computes
rows forever. Checking the result after parsing is too late (the memory and the minutes are
spent), so every reader takes a `Budget` and charges it as it goes: features and vertices
as they are read, bytes as they come out of the decompressor (what really comes out, never
what the zip's header claims), and the clock between chunks. The first limit crossed stops
the reading with a `GeoError` that names it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from common.i18n import N_
from geo.errors import GeoError
from geo.zones import MAX_BYTES, MAX_VERTICES

MAX_FEATURES = 10_000
MAX_UNZIPPED_BYTES = 2 * MAX_BYTES  # a zone's Shapefile or KML, attributes and all, is far smaller
MAX_ZIP_MEMBERS = 1000
MAX_XML_DEPTH = 100
TIME_LIMIT_SECONDS = 2.0

MESSAGE_TOO_MANY_VERTICES = N_("The zone has too many vertices (more than %(limit)d); simplify it.")


@dataclass(frozen=True)
class UploadLimits:
    """The most one upload may hold or take. The defaults suit an incident zone: a few
    areas, at most `MAX_VERTICES` vertices; the web layer sets `seconds` from its settings."""

    max_features: int = MAX_FEATURES
    max_vertices: int = MAX_VERTICES
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES
    max_zip_members: int = MAX_ZIP_MEMBERS
    max_xml_depth: int = MAX_XML_DEPTH
    # read when the limits are made, so a test can give a slow machine more time
    seconds: float = field(default_factory=lambda: TIME_LIMIT_SECONDS)


class Budget:
    """One upload's running account against its `UploadLimits`; every `charge_*` raises
    the `GeoError` of the limit it crosses."""

    def __init__(self, limits: UploadLimits | None = None) -> None:
        self.limits = limits or UploadLimits()
        self.deadline = time.monotonic() + self.limits.seconds
        self.features = 0
        self.vertices = 0
        self.unzipped = 0

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def check_time(self) -> None:
        if self.expired():
            raise GeoError(
                "too_slow",
                N_("The file took too long to read (more than %(seconds)s seconds); simplify the "
                   "zone or keep fewer features in the file."),
                seconds=f"{self.limits.seconds:g}")

    def charge_features(self, count: int = 1) -> None:
        self.features += count
        if self.features > self.limits.max_features:
            raise_too_many_features(self.limits.max_features)

    def charge_vertices(self, count: int) -> None:
        self.vertices += count
        if self.vertices > self.limits.max_vertices:
            raise GeoError("too_many_vertices", MESSAGE_TOO_MANY_VERTICES, limit=self.limits.max_vertices)

    def unzip_room(self) -> int:
        """Bytes the decompressor may still produce."""
        return max(0, self.limits.max_unzipped_bytes - self.unzipped)

    def charge_unzipped(self, count: int) -> None:
        self.unzipped += count
        if self.unzipped > self.limits.max_unzipped_bytes:
            raise_unzipped_too_large(self.limits.max_unzipped_bytes)


def raise_too_many_features(limit: int) -> None:
    raise GeoError(
        "too_many_features",
        N_("The file has too many features (more than %(limit)d); keep only the zone's areas in it."),
        limit=limit)


def raise_unzipped_too_large(limit: int) -> None:
    raise GeoError(
        "unzipped_too_large",
        N_("The zip file unpacks to more than %(mb)d MB, far more than a zone needs; it was not read."),
        mb=limit // (1024 * 1024))
