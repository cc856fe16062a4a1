"""The zone of a hazard event: where registered travellers may be affected.

In order of preference:

1. a shape the source gives (a GeoRSS/GeoJSON polygon), as given;
2. CAP `<polygon>`s and `<circle>`s (CAP's "lat,lon" order), their union;
3. CAP geocodes, when a mapping from (valueName, value) to a GeoJSON shape or to country
   codes is configured (CAP-CP location codes, FIPS, NUTS...);
4. a cyclone track, as a corridor `corridor_km` wide on each side (geodesic, see
   `geo.corridor`);
5. an earthquake's epicentre and magnitude, as a geodesic circle whose radius comes from the
   magnitude model below (GDACS earthquake bounding boxes are a fixed ±4° display window,
   not an estimate of the shaking, so the model wins over them);
6. a bounding box (GDACS cyclones, floods, droughts);
7. the point alone, as a circle of `point_radius_km`.

The magnitude model: the radius doubles with each unit of magnitude,

    radius_km = base_km * factor ** (M - 5)      (clamped to [min_km, max_km])

With the defaults (50 km at M5, factor 2) an M6 reaches 100 km, M7 200 km, M8 400 km; a
deep event (more than `deep_km`) shakes a wider but weaker area and is given the same
radius, which errs on the side of asking more people whether they are safe. It is a
screening radius for "who should we ask", in the spirit of GDACS's "people within 100 km",
not a ground-motion model; deployments tune it with HAZARD_EQ_RADIUS.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely import affinity
from shapely.geometry import box

from geo.corridor import corridor
from geo.errors import GeoError
from geo.formats import countries_zone, parse_cap_area
from geo.geometry import split_antimeridian
from geo.zones import Zone, circle, parse_geojson
from hazards.events import HazardEvent


@dataclass(frozen=True)
class ZoneModel:
    base_km: float = 50.0  # radius of an M5
    factor: float = 2.0  # growth per unit of magnitude
    min_km: float = 25.0
    max_km: float = 1000.0
    corridor_km: float = 150.0  # each side of a cyclone track
    point_radius_km: float = 50.0  # an event with nothing but a point
    geocodes: dict = field(default_factory=dict)  # "valueName:value" -> GeoJSON geometry or [country codes]

    def radius_km(self, magnitude: float | None) -> float:
        if magnitude is None:
            return self.point_radius_km
        radius = self.base_km * self.factor ** (magnitude - 5.0)
        return max(self.min_km, min(self.max_km, radius))

    @classmethod
    def from_setting(cls, text: str | None, **kwargs) -> ZoneModel:
        """HAZARD_EQ_RADIUS: "base_km,factor[,min_km,max_km]", e.g. "50,2" or "40,2.2,20,800"."""
        if not text:
            return cls(**kwargs)
        numbers = [float(p) for p in text.split(",")]
        if len(numbers) not in (2, 4) or any(n <= 0 for n in numbers):
            raise ValueError("HAZARD_EQ_RADIUS is base_km,factor[,min_km,max_km], all positive")
        names = ("base_km", "factor", "min_km", "max_km")
        return cls(**dict(zip(names, numbers)), **kwargs)


DEFAULT = ZoneModel()


def event_zone(event: HazardEvent, model: ZoneModel = DEFAULT) -> Zone | None:
    """The event's zone (see the module's order of preference), or None when the event says
    nowhere (a CAP entry with an unmapped geocode only)."""
    if event.shape:
        try:
            return parse_geojson(event.shape)
        except GeoError:
            pass
    if event.cap_polygons or event.cap_circles:
        try:
            return parse_cap_area(event.cap_polygons, event.cap_circles)
        except GeoError:
            pass
    mapped = geocode_zone(event.geocodes, model.geocodes)
    if mapped is not None:
        return mapped
    if event.track and len(event.track) >= 2:
        return corridor(event.track, model.corridor_km)
    has_point = event.lat is not None and event.lon is not None
    if has_point and event.kind == "earthquake":
        return circle(event.lat, event.lon, model.radius_km(event.magnitude))
    if event.bbox:
        return bbox_zone(event.bbox)
    if has_point:
        return circle(event.lat, event.lon, model.point_radius_km)
    return None


def bbox_zone(bbox: tuple[float, float, float, float]) -> Zone:
    """A lon/lat box; a box past ±180 (or with lon_min > lon_max) wraps across the antimeridian."""
    lon_min, lat_min, lon_max, lat_max = bbox
    if lon_max < lon_min:
        lon_max += 360.0
    geom = box(lon_min, max(lat_min, -90.0), lon_max, min(lat_max, 90.0))
    if geom.bounds[0] >= 180.0:
        geom = affinity.translate(geom, -360.0)
    elif geom.bounds[0] < -180.0:
        geom = affinity.translate(geom, 360.0)
    return Zone(geometry=split_antimeridian(geom), origin={"format": "bbox", "bbox": list(bbox)})


def geocode_zone(geocodes: list[tuple[str, str]], mapping: dict) -> Zone | None:
    """The union of the configured shapes of these geocodes; None when none is mapped."""
    if not mapping or not geocodes:
        return None
    zones, codes = [], []
    for name, value in geocodes:
        target = mapping.get(f"{name}:{value}")
        if isinstance(target, list):
            codes += target
        elif isinstance(target, dict):
            zones.append(parse_geojson(target))
    if codes:
        zones.append(countries_zone(codes))
    if not zones:
        return None
    if len(zones) == 1:
        return zones[0]
    return Zone(geometry=split_antimeridian(shapely.union_all([z.geometry for z in zones])), origin={"format": "geocode"})
