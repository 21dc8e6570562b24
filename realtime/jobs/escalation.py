"""Escalation of critical alerts left open, and the end of the gamification hold.

A critical alert still open ``alert_escalate_after_s`` after it was raised is escalated, again
every ``alert_escalate_after_s``, at most ``max_escalations`` times (``PROTOCOL.md`` section 7).
Due times come from ``raised_at`` and the stored count, so a restart neither forgets nor
repeats an escalation. The same pass releases celebrations held for 24 hours. The runtime runs
a pass every :func:`pass_interval` (``jobs.periodic``).
"""

from __future__ import annotations

from realtime.service.alerts import AlertInbox

MIN_PASS_S = 0.05
MAX_PASS_S = 5.0
"""A pass every tenth of the escalation delay, within these bounds: an escalation is at most
this late, and a pass over the alerts in memory costs microseconds."""


def pass_interval(escalate_after_s: float) -> float:
    return max(MIN_PASS_S, min(MAX_PASS_S, escalate_after_s / 10))


async def escalation_pass(inbox: AlertInbox) -> None:
    await inbox.escalate_due()
    inbox.release_expired()
