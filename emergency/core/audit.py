"""The audit log: every state change says who did it. Never store personal data here."""
from __future__ import annotations

from flask import Flask, g, has_request_context
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


def record(action: str, object_type: str | None = None, object_id=None, actor: str | None = None,
           **details) -> AuditEntry:
    """Add an audit entry to the current session; it commits with the change it describes."""
    entry = AuditEntry(
        actor=actor or actor_name(), action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id), details=details or None,
    )
    db_session().add(entry)
    return entry


def init_app(app: Flask) -> None:
    return None
