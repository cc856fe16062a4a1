"""USGS earthquake GeoJSON: the summary feeds (a FeatureCollection) and the detail feed
(one Feature).

Coordinates are [longitude, latitude, depth in km]. `updated` changes whenever USGS
revises an event (magnitude, location, PAGER alert); `ids` lists every network id of the
same event, so an event whose preferred id changes is still recognised. A deleted event
comes back with `status: "deleted"`.
"""
from __future__ import annotations

import json

from hazards.events import ALERT_LEVELS, FeedError, HazardEvent, as_float, from_millis


def parse(body: bytes | str) -> list[HazardEvent]:
    """Every feature of a USGS summary or detail document, in feed order."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FeedError(f"USGS feed is not JSON: {exc}") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        features = [data]
    elif isinstance(data, dict) and data.get("type") == "FeatureCollection" and isinstance(data.get("features"), list):
        features = data["features"]
    else:
        raise FeedError("USGS feed is not a GeoJSON FeatureCollection or Feature")
    return [event for event in (_event(f) for f in features) if event is not None]


def expected_count(body: bytes | str) -> int | None:
    """The feed's own `metadata.count` (summary feeds), to check nothing was dropped."""
    data = json.loads(body)
    return (data.get("metadata") or {}).get("count")


def _event(feature) -> HazardEvent | None:
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties") or {}
    geometry = feature.get("geometry") or {}
    coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
    event_id = feature.get("id") or (props.get("net") or "") + (props.get("code") or "")
    when = from_millis(props.get("time"))
    if not event_id or when is None or not coords or len(coords) < 2:
        return None
    lon, lat = as_float(coords[0]), as_float(coords[1])
    if lon is None or lat is None:
        return None
    depth = as_float(coords[2]) if len(coords) > 2 else None
    alert = (props.get("alert") or "").lower() or None
    quake = (props.get("type") or "earthquake") == "earthquake"
    aliases = [i for i in (props.get("ids") or "").split(",") if i and i != event_id]
    return HazardEvent(
        source="usgs", source_id=str(event_id), kind="earthquake" if quake else "other",
        title=props.get("title") or props.get("place") or str(event_id),
        time=when, updated=from_millis(props.get("updated")) or when,
        lat=lat, lon=lon, depth_km=depth, magnitude=as_float(props.get("mag")),
        alert_level=alert if alert in ALERT_LEVELS else None,
        link=props.get("url"),
        status="deleted" if props.get("status") == "deleted" else "active",
        aliases=aliases,
    )
