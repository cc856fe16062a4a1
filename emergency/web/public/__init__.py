"""Pages for travellers, in their language, with no console log-in: registration, their own
record behind a sign-in link (`/my`), the crisis-time check-in and its confirmation code, and answering a safety check."""
from emergency.web.public.answers import bp as answers_bp
from emergency.web.public.checkin import bp as checkin_bp
from emergency.web.public.checkin_verify import bp as checkin_verify_bp
from emergency.web.public.registration import bp as registration_bp
from emergency.web.public.selfservice import bp as selfservice_bp

BLUEPRINTS = (answers_bp, registration_bp, selfservice_bp, checkin_bp, checkin_verify_bp)
