"""Emulator mode: register the platform's two webhook endpoints, as `stripe listen` would.

Old endpoints of this installation (same URLs) are deleted first, since Stripe
shows an endpoint's signing secret only when it is created; the new secrets are
kept in the data dir for every process of this installation.
"""

from __future__ import annotations

from storeplex.config import Settings
from storeplex.stripe.gateway import StripeGateway
from storeplex.stripe.keys import save_emulator_webhook_secrets

PLATFORM_PATH = "/api/v1/webhooks/stripe"
CONNECT_PATH = "/api/v1/webhooks/stripe/connect"


async def register_webhook_endpoints(settings: Settings) -> tuple[str, str]:
    gateway = StripeGateway(settings)
    urls = {f"{settings.base_url}{PLATFORM_PATH}", f"{settings.base_url}{CONNECT_PATH}"}
    existing = await gateway.list_webhook_endpoints()
    for endpoint in existing.get("data", []):
        if endpoint.get("url") in urls:
            await gateway.delete_webhook_endpoint(endpoint["id"])
    platform = await gateway.create_webhook_endpoint(
        {
            "url": f"{settings.base_url}{PLATFORM_PATH}",
            "enabled_events": ["*"],
            "description": "Storeplex platform events",
        }
    )
    connect = await gateway.create_webhook_endpoint(
        {
            "url": f"{settings.base_url}{CONNECT_PATH}",
            "enabled_events": ["*"],
            "connect": True,
            "description": "Storeplex Connect events",
        }
    )
    save_emulator_webhook_secrets(settings, platform["secret"], connect["secret"])
    return platform["id"], connect["id"]
