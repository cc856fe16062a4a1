"""What a CAP 1.2 alert holds, as plain dataclasses shared by the reader and the writer."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

CAP12_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CP_PROFILE = "profile:CAP-CP:0.4"

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
              "CBRNE", "Other")
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class NamedValue:
    """A geocode, eventCode or parameter: (valueName, value)."""

    name: str
    value: str


@dataclass
class Area:
    description: str
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)  # rings of (lon, lat), closed
    circles: list[Circle] = field(default_factory=list)
    geocodes: list[NamedValue] = field(default_factory=list)


@dataclass
class Info:
    language: str = "en-US"  # CAP's default when <language> is absent
    categories: list[str] = field(default_factory=list)
    event: str = ""
    urgency: str = "Unknown"
    severity: str = "Unknown"
    certainty: str = "Unknown"
    response_types: list[str] = field(default_factory=list)
    event_codes: list[NamedValue] = field(default_factory=list)
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    areas: list[Area] = field(default_factory=list)

    @property
    def base_language(self) -> str:
        """"fr" for fr-CA, fr-FR, fr; "en" for en-CA, en-US, ...: lower case, before the first '-'."""
        return (self.language or "").split("-")[0].strip().lower()


@dataclass(frozen=True)
class Reference:
    """One earlier message: CAP's "sender,identifier,sent" (sent kept as written)."""

    sender: str
    identifier: str
    sent: str

    def text(self) -> str:
        return f"{self.sender},{self.identifier},{self.sent}"


@dataclass
class Alert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    sent_text: str = ""  # as written, for references
    source: str | None = None
    note: str | None = None
    codes: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    infos: list[Info] = field(default_factory=list)
    signed: bool = False  # carries an XML signature (kept, not verified)

    @property
    def is_cap_cp(self) -> bool:
        return any(code.startswith("profile:CAP-CP:") for code in self.codes)

    def info_for(self, language: str) -> Info | None:
        """The first <info> in `language` ("en" or "fr", any region), or None."""
        return next((info for info in self.infos if info.base_language == language), None)
