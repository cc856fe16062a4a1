"""CAP 1.2 in: a CAP document from a feed, an upload or the trigger API.

Placeholder with the agreed interface: the CAP ingestion (validation against the OASIS
schema and CAP's rules, en/fr info blocks, Update/Cancel acting on the earlier incident)
replaces this module. Until then the feed poller applies each CAP index entry's own summary.
"""
from __future__ import annotations


def ingest(document: bytes, source: str):
    """Read and act on one CAP document. Returns the `hazards.events.HazardEvent`s read from
    it for the trigger rules (`services.hazards.apply_event`), or None when it acted on the
    document itself."""
    raise NotImplementedError("CAP ingestion is not available yet")
