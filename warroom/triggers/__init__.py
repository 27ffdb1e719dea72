"""Automated triggers, the I/O-free part: webhook bodies -> alerts -> the trigger each starts.

The HTTP routes (`warroom serve`) authenticate, log, and then call, per delivery:

    alerts = read_alerts("alertmanager", raw_body)     # MalformedPayload 400 / PayloadRejected 422
    for alert in alerts:
        found = match_alert(playbooks, alert, people=roster.people)   # None: nothing to do

and decide with the store what `found` does (activate, attach to the open incident with
`found.key`, stay quiet within `found.cooldown`, record a resolution). `warroom triggers test`
runs the same two calls and prints the result.
"""

from warroom.triggers.alerts import ABSENT, SOURCES, Alert, Source, Status, lookup
from warroom.triggers.matching import (
    AlertKey,
    FlaggedFact,
    TriggerMatch,
    alert_key,
    fill_facts,
    match_alert,
    mismatch,
    trigger_fits,
)
from warroom.triggers.payloads import alerts_from, decode_json, read_alerts
from warroom.triggers.templating import Rendered, placeholder, render

__all__ = [
    "ABSENT",
    "SOURCES",
    "Alert",
    "AlertKey",
    "FlaggedFact",
    "Rendered",
    "Source",
    "Status",
    "TriggerMatch",
    "alert_key",
    "alerts_from",
    "decode_json",
    "fill_facts",
    "lookup",
    "match_alert",
    "mismatch",
    "placeholder",
    "read_alerts",
    "render",
    "trigger_fits",
]
