"""Hazard feeds: USGS earthquakes, GDACS disasters and CAP index feeds, read into one
`HazardEvent` shape, given a zone, and matched across sources.

Pure library code (no database, no Flask): `emergency.services.hazards` stores the events,
and `emergency.jobs.feeds` polls the feeds through `hazards.fetch`.
"""
