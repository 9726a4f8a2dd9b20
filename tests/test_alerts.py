"""Budget alerts: one per period, to a real webhook receiver (signed) and by email."""

import asyncio
import hashlib
import hmac
import threading
import time
from decimal import Decimal

import orjson
import pytest
from aiohttp import web

from gateway.alerts import SIGNATURE_HEADER, alert_send
from tenants.models import Tenant
from tests.conftest import usage_records
from tests.test_budgets import REQUEST, priced  # noqa: F401 (a fixture)

SECRET = "webhook-test-secret"


class Receiver:
    """An aiohttp server on a loopback port, in a thread of its own, keeping each request it gets."""

    def __init__(self):
        self.got = []
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.runner = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hooks/prism"

    async def _start(self):
        app = web.Application()
        app.router.add_post("/hooks/prism", self._keep)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    async def _keep(self, request):
        self.got.append((request.headers.copy(), await request.read()))
        return web.Response(status=204)

    def close(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def wait_for(found, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, "nothing arrived"
        time.sleep(0.02)


def test_reaching_the_alert_share_notifies_once_by_signed_webhook_and_email(priced, receiver, openai_client,
                                                                            settings, mailoutbox):
    settings.PRISM_ALERT_WEBHOOK_URL, settings.PRISM_ALERT_WEBHOOK_SECRET = receiver.url, SECRET
    settings.PRISM_ALERT_EMAILS = ["ops@example.com"]
    Tenant.objects.update(budget_usd=Decimal("0.10"), budget_period="weekly", budget_alert_percent=50)
    for _ in range(3):  # each costs $0.025301: the second reaches 50%
        openai_client.chat.completions.create(**REQUEST)
    usage_records(3)  # every request has settled
    wait_for(lambda: receiver.got and mailoutbox)
    [(headers, body)] = receiver.got
    assert headers[SIGNATURE_HEADER] == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    alert = orjson.loads(body)
    assert {key: alert[key] for key in ("type", "scope", "name", "period", "budget_usd", "threshold_percent")} == {
        "type": "budget.threshold", "scope": "tenant", "name": "acme", "period": "weekly", "budget_usd": "0.10",
        "threshold_percent": 50}
    assert Decimal("0.05") <= Decimal(alert["spent_usd"]) < Decimal("0.10")
    [email] = mailoutbox
    assert email.to == ["ops@example.com"] and "weekly budget of $0.10" in email.subject
    assert SECRET not in email.body and SECRET not in body.decode()


async def test_an_unreachable_webhook_is_logged_not_raised(settings, caplog):
    settings.PRISM_ALERT_WEBHOOK_URL, settings.PRISM_ALERT_EMAILS = "http://127.0.0.1:9/unreachable", []
    await alert_send({"type": "budget.threshold"})
    assert "Could not send the budget alert webhook" in caplog.text
