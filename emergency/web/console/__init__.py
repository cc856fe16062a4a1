"""The coordinator web console: log-in, incidents and their preview, alerts, the live
dashboard, the map, exports, the outbox, cases, travellers, advisories, the on-call list and the hazard feeds with their trigger rules.

`bp` ("console") carries the incident and alert pages; each module below adds its own
views to it, so importing this package is what registers them. Cases, travellers,
advisories and the on-call list are their own blueprints ("cases", "travellers",
"advisories", "oncall").
"""
from emergency.web.console import alerts, base_map, followup, incident_map, incidents, login, outbox
from emergency.web.console.advisories import bp as advisories_bp
from emergency.web.console.blueprint import bp
from emergency.web.console.cases import bp as cases_bp
from emergency.web.console.feeds import bp as feeds_bp
from emergency.web.console.oncall import bp as oncall_bp
from emergency.web.console.travellers import bp as travellers_bp

ROUTE_MODULES = (login, incidents, alerts, followup, outbox, base_map, incident_map)
BLUEPRINTS = (bp, cases_bp, travellers_bp, advisories_bp, oncall_bp, feeds_bp)
