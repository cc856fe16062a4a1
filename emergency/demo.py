"""The demo: schema, a synthetic registry and three console users, on the embedded defaults.

Only in development mode: demo users get fresh random passwords each start (printed once),
so no fixed password ever exists in a deployment.
"""
from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import func, select

from registry.models import Traveller

from .auth import create_user
from .database import db_session, engine
from .migrate import upgrade
from .models import User

DEMO_USERS = (
    ("coordinator", "coordinator@demo.example", "Camille Coordinator"),
    ("approver", "approver@demo.example", "Alex Approver"),
    ("viewer", "viewer@demo.example", "Val Viewer"),
)


def prepare_demo(travellers: int) -> list[tuple[str, str, str]]:
    if current_app.config["ENV_NAME"] != "development":
        raise RuntimeError("The demo runs only with EMERGENCY_ENV=development.")
    upgrade(engine())
    session = db_session()
    logins = []
    for role, email, name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = create_user(email, name, role, password)
        else:
            user.set_password(password)
        logins.append((role, email, password))
    session.commit()
    if not session.scalar(select(func.count()).select_from(Traveller)):
        from registry.seed import seed

        print(f"Seeding {travellers} synthetic travellers...")
        seed(session, travellers)
        session.commit()
    return logins
