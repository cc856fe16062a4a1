"""CAP 1.2 (OASIS Common Alerting Protocol) in and out, with no application inside.

* `cap.read.read(document)`: the alerts in a CAP document (at the root, or inside an
  EDXL-DE envelope), checked against the OASIS CAP 1.2 schema shipped in `cap/schema/` and
  against the rules the schema cannot say (polygons closed with at least four pairs,
  circles "lat,lon radius", times with their zone, ...). A refused document raises
  `CapError` with every problem as (path, code, English template, parameters), so the
  application can show each reason in its reader's language.
* `cap.write.build(...)`: a CAP 1.2 alert following the Canadian profile (CAP-CP): en-CA and
  fr-CA `<info>` blocks, areas as polygons and circles, references for updates.
* `cap.atom.index(...)`: an Atom index of CAP alerts, for partners that poll.

Coordinates: CAP writes "latitude,longitude"; the dataclasses in `cap.model` hold
polygons as (longitude, latitude) pairs, as GeoJSON and shapely do, and circles with named
fields, so nobody has to remember which order a tuple is in.
"""
