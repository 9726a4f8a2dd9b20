"""Budgets in US dollars per key and per tenant: a request reserves the most it can cost, then settles.

Semantics, for each key and its tenant that has a dollar budget (whichever is used up first answers):
- A budget holds for a period of the clock (UTC): a day, a week from Monday, a calendar month, or for ever
  ("none"). Each period's counter starts, once per process, from the stored usage records' cost, and is
  shared by every Prism process through the counters (Redis when REDIS_URL is set).
- Before the call the request reserves its most: its body's bytes (no text has more tokens than bytes)
  times the model's dearest input price, plus max_tokens (max_completion_tokens, max_output_tokens; else
  the model's output cap) times n times its dearest output price, on the tier it asks for. If that would
  take the counter over the budget the request is refused: 429 insufficient_quota.
- When it ends the reservation is replaced by its cost as recorded (nothing for a failed call), so the
  recorded spend cannot pass the budget however many requests run at once.
- A model with no price costs nothing here (its usage is recorded as unpriced), nor does an operation
  that uses no tokens (reading a stored response, counting tokens).
- Reaching the alert share of the budget notifies once per period (gateway/alerts.py).
Amounts are counted in millionths of a dollar.
"""

import asyncio
import logging
import math
import time
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial

from asgiref.sync import sync_to_async
from django.conf import settings

from gateway.alerts import alert_schedule
from gateway.counters import Counter, CountersUnavailable, added, counters
from gateway.errors import QuotaExceeded, ServiceUnavailable
from gateway.operations import no_usage
from tenants.directory import directory
from tenants.selectors import MICRO, budget_period_start, cost_used_since
from tenants.services import TIERS, usage_cost

from .interface import Plugin

logger = logging.getLogger(__name__)

DAY = 24 * 3600
KEPT = {"daily": 2 * DAY, "weekly": 8 * DAY, "monthly": 32 * DAY}  # how long a period's counter outlives its start
FOREVER = 10 * 365 * DAY
PLANS_KEPT = 10_000  # (key, model) plans remembered before they are all forgotten
DEFAULT_OUTPUT_CAP = 4096  # tokens reserved for a model with no known output cap when the request sets none


def _micros(dollars: Decimal | None) -> int:
    return math.ceil((dollars or 0) * MICRO)


def cost_ceiling(context, price) -> int:
    """The most the request can cost, in millionths of a dollar."""
    if price is None:
        return 0
    data = context.request_data
    model_cap = DEFAULT_OUTPUT_CAP if price.max_output_tokens is None else price.max_output_tokens
    cap = next((value for name in ("max_completion_tokens", "max_tokens", "max_output_tokens")
                if type(value := data.get(name)) is int and value > 0), model_cap)
    choices = data.get("n") if type(data.get("n")) is int and data.get("n") > 0 else 1
    output = cap * choices
    inputs = [price.input_per_million, price.cache_write_5m_per_million, price.cache_write_1h_per_million,
              price.audio_input_per_million]
    outputs = [price.output_per_million, price.reasoning_per_million, price.audio_output_per_million]
    tier = TIERS.get(data.get("service_tier") or "")
    scale = max(Decimal(1), getattr(price, tier) if tier else Decimal(1))
    most = (len(context.body_bytes()) * max(p for p in inputs if p is not None)
            + output * max(p for p in outputs if p is not None))
    return _micros(most * scale / MICRO)


class Budgets(Plugin):
    def __init__(self, clock=time.time):
        self.clock = clock
        self._seeded = set()
        self._alerted = set()
        self._plans, self._plans_day = {}, None

    async def handle(self, context, next):
        quotas = context.api_key.budgets if context.api_key else ()
        if not quotas or context.operation.usage_of is no_usage:  # reading a stored response costs nothing
            return await next(context)
        prices = await directory.prices()
        price, rows = self._plan(quotas, context.route.upstream_model if context.route else context.requested_model,
                                 prices)
        reserved = cost_ceiling(context, price)
        planned = [(quota, Counter(key, reserved, quota.budget_micros, ttl), start) for quota, key, ttl, start in rows]
        try:
            for quota, counter, start in planned:
                if counter.key not in self._seeded:
                    await self._seed(counter, quota, start)
        except CountersUnavailable:
            raise ServiceUnavailable("The budget counter is unavailable.") from None
        answer = counters().add([counter for _, counter, _ in planned])
        context.checks.append(partial(_check, answer=answer, planned=planned, reserved=reserved))
        context.finishers.append(partial(self._settle, answer=answer, planned=planned, reserved=reserved,
                                         prices=prices))
        await next(context)

    def _plan(self, quotas, model, prices) -> tuple:
        """The model's price and each budget's (quota, counter key, time to live, period start); made once
        per key, model and day (no period is shorter), and again when the prices change."""
        today = int(self.clock() // DAY)
        if today != self._plans_day or len(self._plans) > PLANS_KEPT:
            self._plans, self._plans_day = {}, today
        cache_key = (settings.PRISM_COUNTER_PREFIX, quotas, model)
        found = self._plans.get(cache_key)
        if found is None or found[0] is not prices:
            now = datetime.fromtimestamp(self.clock(), timezone.utc)
            rows = []
            for quota in quotas:
                start = budget_period_start(quota.budget_period, now)
                key = f"{settings.PRISM_COUNTER_PREFIX}:{quota.scope}:{quota.id}:usd" + (f":{start:%Y%m%d}" if start else "")
                rows.append((quota, key, KEPT.get(quota.budget_period, FOREVER), start))
            found = self._plans[cache_key] = (prices, prices.of(model), rows)
        return found[1:]

    async def _seed(self, counter, quota, start):
        """Start a period's counter from the stored usage, once per process."""
        used = await sync_to_async(cost_used_since)(scope=quota.scope, id=quota.id, since=start)
        await counters().set_default(counter.key, used, counter.ttl)
        self._seeded.add(counter.key)

    async def _settle(self, context, *, answer, planned, reserved, prices):
        """Replace the reservation by the request's cost as it is recorded, with the next counters call; then
        see whether to alert."""
        if not await added(answer):
            return
        cost = _micros(usage_cost(context.metadata["usage_record"], prices)["cost"])
        alerts = any(quota.alert_percent is not None for quota, _, _ in planned)
        counters().settle([Counter(c.key, cost - reserved, None, c.ttl) for _, c, _ in planned],
                          then=partial(self._alerts_check, context, planned) if alerts else None)

    def _alerts_check(self, context, planned, values):
        for (quota, counter, start), spent in zip(planned, values):
            if (quota.alert_percent is not None and counter.key not in self._alerted
                    and spent * 100 >= quota.budget_micros * quota.alert_percent):
                self._alerted.add(counter.key)
                asyncio.get_running_loop().create_task(self._alert(context, quota, counter, start, spent))

    async def _alert(self, context, quota, counter, start, spent):
        """Notify once per period, whichever process sees the threshold first."""
        try:
            refused, _ = await counters().add([Counter(f"{counter.key}:alerted", 1, 1, counter.ttl)])
        except CountersUnavailable:
            logger.warning("Could not mark the budget alert of %s %s as sent", quota.scope, quota.id)
            return
        if not refused:
            alert_schedule({
                "type": "budget.threshold", "scope": quota.scope, "id": quota.id,
                "name": context.api_key.prefix if quota.scope == "key" else context.api_key.tenant_name,
                "tenant": context.api_key.tenant_name, "period": quota.budget_period,
                "period_start": start.isoformat() if start else None,
                "budget_usd": f"{quota.budget_micros / 1e6:.2f}", "spent_usd": f"{spent / 1e6:.6f}",
                "threshold_percent": quota.alert_percent,
            })


async def _check(context, *, answer, planned, reserved):
    """Refuse the request if it could take a budget over."""
    try:
        refused, values = await answer
    except CountersUnavailable:
        raise ServiceUnavailable("The budget counter is unavailable.") from None
    if refused:
        quota = planned[refused - 1][0]
        raise QuotaExceeded(
            f"This {quota.scope}'s {quota.budget_period} budget of ${quota.budget_micros / 1e6:.2f} is used up "
            f"(${values[refused - 1] / 1e6:.6f} spent or reserved; this request may cost up to ${reserved / 1e6:.6f})."
        )
