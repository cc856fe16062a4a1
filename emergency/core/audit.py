"""The audit log: every state change says who did it. Never store personal data here.

Staff actions also keep the client's address (`request.remote_addr`, which TRUSTED_PROXIES
makes the address the proxy saw rather than the proxy's own); a traveller's own actions do
not, since their address is personal data we have no use for.
"""
from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from emergency.core.database import db_session
from emergency.core.models import AuditEntry


def actor_name() -> str:
    if has_request_context():
        api_user = g.get("api_user")
        if api_user is not None:
            return f"api:{api_user.email}"
        if current_user and current_user.is_authenticated:
            return current_user.email
    return "system"


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(action: str, object_type: str | None = None, object_id=None, actor: str | None = None,
           address: str | None = None, **details) -> AuditEntry:
    """Add an audit entry to the current session; it commits with the change it describes.
    `address` defaults to the client's when a signed-in staff member (or API user) acts."""
    staff = actor_name()
    if address is None and actor is None and staff != "system":
        address = client_address()
    entry = AuditEntry(
        actor=actor or staff, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id), details=details or None,
        address=address,
    )
    db_session().add(entry)
    return entry


def init_app(app: Flask) -> None:
    return None
