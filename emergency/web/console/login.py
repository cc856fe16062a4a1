"""Console log-in and log-out."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from emergency.core.auth import authenticate
from emergency.core.i18n import remember_language
from emergency.web.console.blueprint import bp, is_safe_next
from emergency.web.console.forms import LoginForm


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error, status = None, 200
    if form.validate_on_submit():
        user = authenticate(form.email.data.strip(), form.password.data)
        if user is not None:
            login_user(user)
            if session.get("lang"):  # chosen with the switch in this browser, not just its default
                remember_language(user, session["lang"])
            target = form.next.data if is_safe_next(form.next.data) else url_for("console.index")
            return redirect(target)
        error, status = _("Wrong email or password. Please try again."), 401
    elif request.method == "POST":
        error, status = _("Enter your email and password."), 400
    return render_template("console/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("console.login"))
