"""Budget alerts: a webhook and/or an email, sent off the response path, never failing a request.

The webhook gets the alert as a JSON body, signed with HMAC-SHA256 under PRISM_ALERT_WEBHOOK_SECRET in
`X-Prism-Signature: sha256=<hex>` (of the body's exact bytes), so the receiver can tell it came from Prism.
The email goes to PRISM_ALERT_EMAILS through Django's email backend.
"""

import asyncio
import hashlib
import hmac
import logging
import smtplib

import aiohttp
import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.mail import send_mail

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Prism-Signature"
_sending = set()  # tasks under way, kept until done (the event loop holds only weak references)


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_schedule(alert: dict) -> None:
    """Send `alert` in the background, where it is configured."""
    if settings.PRISM_ALERT_WEBHOOK_URL or settings.PRISM_ALERT_EMAILS:
        task = asyncio.get_running_loop().create_task(alert_send(alert))
        _sending.add(task)
        task.add_done_callback(_sending.discard)


async def alert_send(alert: dict) -> None:
    await asyncio.gather(_webhook(alert), _email(alert))


async def _webhook(alert: dict) -> None:
    if not settings.PRISM_ALERT_WEBHOOK_URL:
        return
    body = orjson.dumps(alert)
    headers = {"Content-Type": "application/json",
               SIGNATURE_HEADER: signature(body, settings.PRISM_ALERT_WEBHOOK_SECRET)}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.post(settings.PRISM_ALERT_WEBHOOK_URL, data=body, headers=headers) as response:
                if response.status >= 300:
                    logger.warning("The alert webhook answered %s", response.status)
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        logger.warning("Could not send the budget alert webhook: %s", error)


async def _email(alert: dict) -> None:
    if not settings.PRISM_ALERT_EMAILS:
        return
    subject = (f"Prism: the {alert['scope']} {alert['name']} spent ${alert['spent_usd']} "
               f"of its {alert['period']} budget of ${alert['budget_usd']}")
    text = orjson.dumps(alert, option=orjson.OPT_INDENT_2).decode()
    try:
        await sync_to_async(send_mail, thread_sensitive=False)(
            subject, text, None, settings.PRISM_ALERT_EMAILS, fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("Could not send the budget alert email: %s", error)
