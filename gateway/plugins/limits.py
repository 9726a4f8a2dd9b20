"""Rate limits and budgets of keys and tenants: requests and tokens per minute, tokens per month.

Semantics, for each key and its tenant (whichever limit is hit first answers):
- Minutes are fixed windows of the clock (UTC), shared by every Prism process through the counters.
- A request counts 1 towards requests per minute when it is let through.
- Tokens: before the call, the request reserves an estimate (its body's bytes / 4 for the prompt, plus
  max_tokens or max_completion_tokens times n) in the minute's and the month's counters; when it ends,
  the reservation is replaced by the tokens the upstream reported (nothing for a failed call). A request
  without max_tokens reserves the most the model may answer: PRISM_OUTPUT_CAPS (the longest prefix of
  the model's name), else PRISM_DEFAULT_MAX_OUTPUT_TOKENS. Concurrent requests can therefore overshoot a
  limit only by their prompt estimates' error, or where a model answers more than its configured cap.
- The monthly budget counter starts, in each month and for each process set, from the usage records.
Every answer carries OpenAI's x-ratelimit-* headers for the tightest limit; a refusal is a 429 with
Retry-After, so the openai SDK's own retries behave.
"""

import math
import time
from datetime import datetime, timezone
from functools import partial

from asgiref.sync import sync_to_async
from django.conf import settings

from gateway.counters import Counter, CountersUnavailable, added, counters
from gateway.errors import QuotaExceeded, RateLimited, ServiceUnavailable
from tenants.selectors import tokens_used_since

from .interface import Plugin

WINDOW = 60
MONTH_TTL = 32 * 24 * 3600


def output_cap(model: str) -> int:
    """The most tokens `model` may answer: PRISM_OUTPUT_CAPS' longest prefix of its name, or the default."""
    caps = settings.PRISM_OUTPUT_CAPS
    prefix = max((prefix for prefix in caps if model.startswith(prefix)), key=len, default=None)
    return settings.PRISM_DEFAULT_MAX_OUTPUT_TOKENS if prefix is None else caps[prefix]


def token_estimate(context) -> int:
    data = context.request_data
    completion = data.get("max_completion_tokens") or data.get("max_tokens")
    if not (type(completion) is int and completion > 0):
        completion = output_cap(context.model)
    n = data.get("n")
    return len(context.body_bytes()) // 4 + completion * (n if type(n) is int and n > 0 else 1)


class RateLimits(Plugin):
    def __init__(self, clock=time.time):
        self.clock = clock
        self._seeded = set()
        self._plans, self._plans_minute = {}, None

    async def handle(self, context, next):
        quotas = context.api_key.quotas if context.api_key else ()
        if not quotas:
            return await next(context)
        now = self.clock()
        rows, seeds = self._plan(quotas, int(now // WINDOW), now)
        estimate = token_estimate(context)
        planned = [(kind, scope, Counter(key, 1 if kind == "requests" else estimate, limit, ttl))
                   for kind, scope, key, limit, ttl in rows]
        try:
            for key, quota, month_start in seeds:
                if key not in self._seeded:
                    await self._seed(key, quota, month_start)
        except CountersUnavailable:
            raise ServiceUnavailable("The rate limiter is unavailable.") from None
        answer = counters().add([counter for *_, counter in planned])
        context.checks.append(partial(_check, answer=answer, planned=planned, reset=WINDOW - now % WINDOW))
        context.finishers.append(partial(_settle, answer=answer, planned=planned, estimate=estimate))
        await next(context)

    def _plan(self, quotas, minute, now) -> tuple[list, list]:
        """The counters a key's quotas count this minute: (kind, scope, key, limit, ttl), and the month
        counters to seed; made once per key and minute."""
        if minute != self._plans_minute:
            self._plans, self._plans_minute = {}, minute
        cache_key = (settings.PRISM_COUNTER_PREFIX, quotas)
        if cache_key not in self._plans:
            month_start = datetime.fromtimestamp(now, timezone.utc).replace(day=1, hour=0, minute=0, second=0,
                                                                             microsecond=0)
            rows, seeds = [], []
            for quota in quotas:
                base = f"{settings.PRISM_COUNTER_PREFIX}:{quota.scope}:{quota.id}"
                if quota.rpm is not None:
                    rows.append(("requests", quota.scope, f"{base}:rpm:{minute}", quota.rpm, 2 * WINDOW))
                if quota.tpm is not None:
                    rows.append(("tokens", quota.scope, f"{base}:tpm:{minute}", quota.tpm, 2 * WINDOW))
                if quota.monthly_tokens is not None:
                    key = f"{base}:month:{month_start:%Y%m}"
                    seeds.append((key, quota, month_start))
                    rows.append(("budget", quota.scope, key, quota.monthly_tokens, MONTH_TTL))
            self._plans[cache_key] = rows, seeds
        return self._plans[cache_key]

    async def _seed(self, key, quota, month_start):
        """Start a month's budget counter from the stored usage, once per process."""
        used = await sync_to_async(tokens_used_since)(scope=quota.scope, id=quota.id, since=month_start)
        await counters().set_default(key, used, MONTH_TTL)
        self._seeded.add(key)


async def _check(context, *, answer, planned, reset):
    """Refuse the request if a limit would be passed; either way, tell the client what remains."""
    try:
        refused, values = await answer
    except CountersUnavailable:
        raise ServiceUnavailable("The rate limiter is unavailable.") from None
    context.response_headers += _headers(planned, values, reset)
    if refused:
        _refuse(*planned[refused - 1], values[refused - 1], reset)


async def _settle(context, *, answer, planned, estimate):
    """Replace the token reservation by what the upstream reported (sent with the next counters call)."""
    if not await added(answer):
        return
    used = (context.usage or {}).get("total_tokens") or 0
    if used != estimate:
        corrections = [Counter(c.key, used - estimate, None, c.ttl) for kind, _, c in planned if kind != "requests"]
        if corrections:
            counters().settle(corrections)


HEADER_NAMES = {kind: tuple(b"x-ratelimit-%s-%s" % (part, kind.encode()) for part in (b"limit", b"remaining", b"reset"))
                for kind in ("requests", "tokens")}


def _headers(planned, values, reset) -> list[tuple[bytes, bytes]]:
    """Each kind's tightest limit: the one with the least left."""
    tightest = {}
    for (kind, _, counter), value in zip(planned, values):
        if kind in HEADER_NAMES and (kind not in tightest or counter.limit - value < tightest[kind][1]):
            tightest[kind] = (counter.limit, counter.limit - value)
    headers, reset_text = [], b"%ds" % math.ceil(reset)
    for kind, (limit_name, remaining_name, reset_name) in HEADER_NAMES.items():
        if kind in tightest:
            limit, remaining = tightest[kind]
            headers += [(limit_name, b"%d" % limit), (remaining_name, b"%d" % max(0, remaining)),
                        (reset_name, reset_text)]
    return headers


# Why a request reserves as many tokens as it does, for the refusals.
RESERVATION = "its prompt, plus max_tokens or, without it, the most its model may answer"


def _refuse(kind, scope, counter, used, reset):
    if kind == "budget":
        raise QuotaExceeded(
            f"This {scope}'s monthly token budget is used up ({used} of {counter.limit} tokens; "
            f"this request needs up to {counter.amount}: {RESERVATION})."
        )
    requested = f"{counter.amount} ({RESERVATION})" if kind == "tokens" else counter.amount
    raise RateLimited(
        f"Rate limit reached for {kind} per minute on this {scope}: limit {counter.limit}, used {used}, "
        f"requested {requested}. Please try again in {math.ceil(reset)}s.",
        type=kind,
        headers=[(b"retry-after", str(math.ceil(reset)).encode())],
    )
