"""The outbox: messages the embedded default kept instead of sending, and a way to answer
an outbox SMS as the traveller would, through the real inbound path.

The outbox holds what a traveller's inbox would: sign-in links, one-click answer links,
email addresses and phone numbers. Anyone who reads it can act as any traveller, so it is a
development tool for administrators only (EMERGENCY_ENV=development); elsewhere it does
not exist (404)."""
from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from emergency.core.auth import role_required
from emergency.core.database import db_session
from emergency.core.inputs import whole_number
from emergency.services import dashboard
from emergency.services.inbound_sms import process_inbound_sms
from emergency.web.console.blueprint import bp, outbox_open
from emergency.web.console.forms import ReplyForm
from notify.models import OutboxMessage

PAGE_SIZE = 50


def _only_in_development():
    if not outbox_open():
        abort(404)


@bp.get("/outbox")
@role_required("admin")
def outbox():
    _only_in_development()
    before = whole_number(request.args.get("before"), 1)
    page = dashboard.outbox_page(before=before, size=PAGE_SIZE)
    return render_template("console/outbox.html", page_size=PAGE_SIZE, **page)


@bp.post("/outbox/<int:message_id>/reply")
@role_required("admin")
def outbox_reply(message_id: int):
    """Play the traveller: feed a reply to an outbox SMS through the real inbound path."""
    _only_in_development()
    message = db_session().get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.channel != "sms":
        flash(_("Only text messages can be answered."), "error")
        return redirect(url_for("console.outbox"))
    form = ReplyForm()
    if not form.validate_on_submit():
        flash(_("Type the reply text first."), "error")
        return redirect(url_for("console.outbox", _anchor=f"message-{message.id}"))
    to_number = current_app.config.get("TWILIO_FROM") or "outbox"
    answer = process_inbound_sms(message.to, to_number, form.body.data.strip(),
                                 f"console-{uuid.uuid4().hex}")
    flash(_("Reply received from %(number)s. Answer sent back: %(answer)s",
            number=message.to, answer=answer or "—"), "success")
    return redirect(url_for("console.outbox"))
