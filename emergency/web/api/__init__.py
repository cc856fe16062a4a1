"""The JSON API under /api/v1, for coordinators' tools, partners and trigger systems.

Bearer tokens only (no cookies, so no CSRF); every error has the shape of `errors`, with a
message in the language of Accept-Language. Documented in openapi.yaml (served by `openapi`).
One module per resource; `blueprint.bp` ("api") carries the incident, alert, case, on-call,
hazard (events, trigger rules, feeds) and traveller routes, which its modules add when this package imports them.
"""
from emergency.web.api import alerts, cap, cases, followup, hazards, incidents, oncall, openapi, travellers
from emergency.web.api.advisories import bp as advisories_bp
from emergency.web.api.blueprint import bp
from emergency.web.api.partners import bp as partners_bp

ROUTE_MODULES = (openapi, travellers, incidents, alerts, followup, cap, cases, oncall, hazards)
BLUEPRINTS = (bp, travellers.search_bp, advisories_bp, partners_bp)
