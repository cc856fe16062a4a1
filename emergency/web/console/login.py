"""Console log-in and log-out, with an optional second factor (TOTP).

A right password alone signs in only staff without a TOTP key whose role does not need one
(REQUIRE_TOTP_FOR). Everyone else is remembered as "waiting for a code" in the session for
a few minutes: those with a key enter a code from their app; those whose role needs one and
have none set it up first. Failed passwords and codes are rate-limited per account and per
address (`core.rate_limits`); each sign-in, failure and sign-out is audited with the
client's address. Signing out ends the session on the server too (`auth.end_sessions`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from emergency.core import audit
from emergency.core.auth import authenticate, end_sessions, totp_required
from emergency.core.database import db_session
from emergency.core.i18n import remember_language
from emergency.core.models import User
from emergency.core.rate_limits import LOGIN_PER_ACCOUNT, LOGIN_PER_IP, account_key, limiter, login_failed
from emergency.web.console.blueprint import bp, is_safe_next
from emergency.web.console.forms import CodeForm, LoginForm

PENDING_KEY = "login_pending"
ENROL_KEY = "totp_enrol"
PENDING_SECONDS = 300
ISSUER = "Consular Emergency Response"


def _finish(user: User, target: str | None):
    session.pop(PENDING_KEY, None)
    session.pop(ENROL_KEY, None)
    login_user(user)
    if session.get("lang"):  # chosen with the switch in this browser, not just its default
        remember_language(user, session["lang"])
    audit.record("user.signed_in", "session", user.id, actor=user.email, address=audit.client_address())
    db_session().commit()
    return redirect(target if is_safe_next(target) else url_for("console.index"))


def _pending_user() -> tuple[User, dict] | None:
    """The staff member who gave the right password and still owes a code, if any."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db_session().get(User, int(pending.get("uid", 0)))
    if user is None or not user.active or (user.session_version or 0) != pending.get("v"):
        return None
    return user, pending


def _failed(user_id: int | None, step: str) -> None:
    # The typed address is not kept: it may be someone's password typed in the wrong box.
    audit.record("user.signin_failed", "session", user_id, actor="anonymous", address=audit.client_address(),
                 step=step)
    db_session().commit()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_PER_IP, methods=["POST"], deduct_when=login_failed)
@limiter.limit(LOGIN_PER_ACCOUNT, methods=["POST"], key_func=account_key, deduct_when=login_failed)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error, status = None, 200
    if form.validate_on_submit():
        session.pop(PENDING_KEY, None)
        user = authenticate(form.email.data.strip(), form.password.data)
        if user is not None:
            if not user.totp_secret and not totp_required(user):
                return _finish(user, form.next.data)
            session[PENDING_KEY] = {"uid": user.id, "v": user.session_version or 0,
                                    "next": form.next.data or "", "at": time.time()}
            return redirect(url_for("console.login_code" if user.totp_secret else "console.totp_enrol"))
        _failed(None, "password")
        error, status = _("Wrong email or password. Please try again."), 401
    elif request.method == "POST":
        error, status = _("Enter your email and password."), 400
    return render_template("console/login.html", form=form, error=error), status


def _code_ok(secret: str | None, code: str | None) -> bool:
    digits = "".join((code or "").split())
    # One step either side allows for a phone clock half a minute off.
    return bool(secret) and digits.isdigit() and pyotp.TOTP(secret).verify(digits, valid_window=1)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(LOGIN_PER_IP, methods=["POST"], deduct_when=login_failed)
@limiter.limit(LOGIN_PER_ACCOUNT, methods=["POST"], key_func=account_key, deduct_when=login_failed)
def login_code():
    found = _pending_user()
    if found is None or not found[0].totp_secret:
        session.pop(PENDING_KEY, None)
        flash(_("Your sign-in took too long. Please sign in again."), "info")
        return redirect(url_for("console.login"))
    user, pending = found
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        if _code_ok(user.totp_secret, form.code.data):
            return _finish(user, pending.get("next"))
        _failed(user.id, "code")
        error, status = _("That code is not right. Enter the code your app shows now."), 401
    elif request.method == "POST":
        error, status = _("Enter the code your app shows."), 400
    return render_template("console/login_code.html", form=form, error=error), status


# --- setting up the second factor -----------------------------------------------------------

def _enrol_secret(user: User, nonce: str) -> str:
    """The key offered on one showing of the set-up page, made from SECRET_KEY, the user and
    a nonce kept in the session, so the session cookie never carries the key itself."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"totp-enrol:{user.id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def _enrolling_user() -> tuple[User | None, bool]:
    """Who is setting up: the signed-in user, or one whose role needs a code at sign-in."""
    if current_user.is_authenticated:
        return current_user, False
    found = _pending_user()
    if found is None:
        return None, True
    if found[0].totp_secret or not totp_required(found[0]):
        abort(403)
    return found[0], True


def _enrol_page(user: User, required: bool, error: str | None = None, status: int = 200):
    """The set-up page; a new key on each showing, except after a wrong code, when the key
    the person already typed into their app stays."""
    enrolled = bool(user.totp_secret)
    secret = uri = None
    if not enrolled:
        nonce = session.get(ENROL_KEY) if error and isinstance(session.get(ENROL_KEY), str) else None
        nonce = nonce or secrets.token_urlsafe(16)
        session[ENROL_KEY] = nonce
        secret = _enrol_secret(user, nonce)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return render_template("console/totp_enrol.html", form=CodeForm(formdata=None), disable_form=CodeForm(formdata=None),
                           enrolled=enrolled, secret=secret, uri=uri, required=required and not enrolled,
                           error=error), status


@bp.route("/account/two-step", methods=["GET", "POST"])
@limiter.limit(LOGIN_PER_IP, methods=["POST"], deduct_when=login_failed)
def totp_enrol():
    user, pending = _enrolling_user()
    if user is None:
        flash(_("Your sign-in took too long. Please sign in again."), "info")
        return redirect(url_for("console.login"))
    required = pending or totp_required(user)
    if request.method == "GET":
        return _enrol_page(user, required)
    form = CodeForm()
    nonce = session.get(ENROL_KEY)
    if not form.validate_on_submit() or not isinstance(nonce, str):
        return _enrol_page(user, required, _("Enter the code your app shows."), 400)
    secret = _enrol_secret(user, nonce)
    if not _code_ok(secret, form.code.data):
        return _enrol_page(user, required, _("That code is not right. Check the key you typed and enter the "
                                             "code your app shows now."), 400)
    user.totp_secret = secret
    session.pop(ENROL_KEY, None)
    audit.record("user.totp_enrolled", "user", user.id, actor=user.email, address=audit.client_address())
    db_session().commit()
    if pending:
        return _finish(user, (session.get(PENDING_KEY) or {}).get("next"))
    flash(_("Two-step sign-in is on. From now on, sign in with your password and a code from your app."),
          "success")
    return redirect(url_for("console.totp_enrol"))


@bp.post("/account/two-step/off")
@login_required
@limiter.limit(LOGIN_PER_IP, deduct_when=login_failed)
def totp_disable():
    user = current_user
    if totp_required(user):
        abort(403)
    form = CodeForm()
    if not form.validate_on_submit() or not _code_ok(user.totp_secret, form.code.data):
        return _enrol_page(user, False, _("That code is not right. Enter the code your app shows now."), 400)
    user.totp_secret = None
    audit.record("user.totp_removed", "user", user.id)
    db_session().commit()
    flash(_("Two-step sign-in is off."), "info")
    return redirect(url_for("console.totp_enrol"))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        end_sessions(user)
        audit.record("user.signed_out", "session", user.id)
        db_session().commit()
    logout_user()
    session.pop(PENDING_KEY, None)
    flash(_("You are signed out."), "info")
    return redirect(url_for("console.login"))
