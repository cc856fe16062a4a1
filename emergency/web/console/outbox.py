"""The outbox: messages the embedded default kept instead of sending, and a way to answer
an outbox SMS as the traveller would, through the real inbound path."""
from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from emergency.core.auth import role_required
from emergency.core.database import db_session
from emergency.services import dashboard
from emergency.services.inbound_sms import process_inbound_sms
from emergency.web.console.blueprint import bp
from emergency.web.console.forms import ReplyForm
from notify.models import OutboxMessage

PAGE_SIZE = 50


@bp.get("/outbox")
@login_required
def outbox():
    before = request.args.get("before", type=int)
    page = dashboard.outbox_page(before=before if before and before > 0 else None, size=PAGE_SIZE)
    return render_template("console/outbox.html", page_size=PAGE_SIZE, **page)


@bp.post("/outbox/<int:message_id>/reply")
@role_required("coordinator")
def outbox_reply(message_id: int):
    """Play the traveller: feed a reply to an outbox SMS through the real inbound path."""
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
