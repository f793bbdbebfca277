"""Alert notifications through a webhook.

``AGENT_RELEASE_ALERT_WEBHOOK`` (or the ``alert_webhook`` resource's ``url``) is an HTTP(S) URL that
receives a JSON POST per alert: ``{"text": <one-line summary>, "source": "agent_release", "kind": ...,
...fields}``. ``text`` makes it work as-is with Slack / Mattermost / Teams incoming webhooks; the other
fields are for machines. With no URL configured (the default) the alert is only logged.

Payloads carry names, counts and metrics only — never conversation content (no PII can leave).
"""

from __future__ import annotations

import logging
import os
from typing import Any

ENV_WEBHOOK = "AGENT_RELEASE_ALERT_WEBHOOK"
log = logging.getLogger(__name__)


def webhook_url(configured: str | None = None) -> str | None:
    url = (configured or os.environ.get(ENV_WEBHOOK, "")).strip()
    return url or None


def notify(payload: dict[str, Any], url: str | None = None, *, timeout_s: float = 10.0,
           logger: Any = None) -> dict[str, Any]:
    """POST ``payload`` to the webhook (if any). Never raises: returns what happened."""
    lg = logger or log
    url = webhook_url(url)
    text = payload.get("text", "")
    if url is None:
        lg.warning(f"ALERT (no webhook configured: set {ENV_WEBHOOK}): {text}")
        return {"sent": False, "reason": "no webhook configured"}
    import httpx

    try:
        r = httpx.post(url, json={"source": "agent_release", **payload}, timeout=timeout_s)
        ok = 200 <= r.status_code < 300
        (lg.info if ok else lg.warning)(f"alert webhook answered {r.status_code}: {text}")
        return {"sent": ok, "status_code": r.status_code}
    except httpx.HTTPError as exc:
        lg.warning(f"alert webhook failed ({type(exc).__name__}): {text}")
        return {"sent": False, "reason": type(exc).__name__}
