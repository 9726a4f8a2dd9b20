"""One model over several deployments, measured against real mock upstreams on loopback ports."""

import asyncio
import os
import time
import uuid
from collections import Counter
from itertools import cycle

import aiohttp
import httpx2 as httpx
import openai
import pytest
import yaml
from django.contrib.auth.models import User

from deployments import shared_state
from deployments.directory import deployment_directory
from deployments.models import Deployment, DeploymentGroup, DeploymentRoute
from providers.mock_upstream import MockUpstream
from tests.conftest import PrismProcess, usage_records
from tests.test_limits import redis_url, wait_for_a_fresh_minute  # noqa: F401  (a fixture)

MESSAGES = [{"role": "user", "content": "hi"}]

ISSUE_CONFIG = """
prefix_map:
  gpt: openai_provider
deployments:
  - {name: east, provider: openai_provider, base_url: "http://127.0.0.1:19101/v1", api_key_env: EAST_KEY, weight: 1}
  - {name: west, provider: openai_provider, base_url: "http://127.0.0.1:19102/v1", api_key_env: WEST_KEY, weight: 2}
  - {name: spare, provider: openai_provider, base_url: "http://127.0.0.1:19103/v1", api_key_env: SPARE_KEY, weight: 0}
  - {name: backup, provider: openai_provider, base_url: "http://127.0.0.1:19104/v1", api_key_env: BACKUP_KEY, rpm: 60}
models:
  gpt-4o:
    strategy: weighted            # or least-busy, lowest-latency, capacity
    affinity: user                # optional: user, header:x-session-id, prefix
    groups: [[east, west, spare], [backup]]
"""


@pytest.fixture(autouse=True)
def fresh_deployments(settings):
    """Each test starts with no cached routes and every deployment healthy and idle (in Redis too)."""
    deployment_directory.clear()
    shared_state.deployment_state.cache_clear()
    settings.PRISM_COUNTER_PREFIX = f"test-{uuid.uuid4().hex}"


@pytest.fixture
def upstreams():
    """Four mock upstreams, one per deployment: what each received is what its deployment served."""
    servers = [MockUpstream() for _ in range(4)]
    for server in servers:
        server.url = server.start_in_thread()
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def router_config(settings, tmp_path):
    """Write config.yml (the router sees a change within a second) and point Prism at it."""
    path = tmp_path / "config.yml"

    def write(config: dict | str):
        path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
        os.utime(path, ns=(time.time_ns(), time.time_ns()))
        settings.PRISM_ROUTER_CONFIG = str(path)

    return write


def deployment(name: str, upstream, **fields) -> dict:
    return {"name": name, "provider": "openai_provider", "base_url": upstream.url, **fields}


def config_of(deployments: list[dict], groups: list[list[str]], **route) -> dict:
    return {"prefix_map": {"gpt": "openai_provider"}, "deployments": deployments,
            "models": {"gpt-4o": {"groups": groups, **route}}}


async def chat_many(prism_url: str, api_key: str, bodies: list[dict], *, concurrency: int = 20) -> list[int]:
    """Send every body to Prism, `concurrency` at a time; the statuses, in order."""
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {api_key}"}) as session:
        async def send(body):
            async with limit, session.post(f"{prism_url}/v1/chat/completions", json=body) as response:
                await response.read()
                return response.status
        return await asyncio.gather(*(send(body) for body in bodies))


def chat(prism_url, api_key, count: int, *, concurrency=20, **fields) -> list[int]:
    return asyncio.run(chat_many(prism_url, api_key, [{"model": "gpt-4o", "messages": MESSAGES, **fields}] * count,
                                 concurrency=concurrency))


def served(upstreams) -> list[int]:
    return [len(upstream.received) for upstream in upstreams]


def test_the_issues_config_splits_by_weight_with_each_deployments_own_key(prism_url, api_key, router_config,
                                                                           monkeypatch, transactional_db):
    servers = [MockUpstream() for _ in range(4)]
    for port, server in zip(range(19101, 19105), servers):
        server.start_in_thread(port=port)
    try:
        for name in ("EAST", "WEST", "SPARE", "BACKUP"):
            monkeypatch.setenv(f"{name}_KEY", f"sk-{name.lower()}")
        router_config(ISSUE_CONFIG)
        bodies = [{"model": "gpt-4o", "messages": MESSAGES, "user": f"user-{n}"} for n in range(3000)]
        statuses = asyncio.run(chat_many(prism_url, api_key, bodies))
        east, west, spare, backup = served(servers)
    finally:
        for server in servers:
            server.stop()
    assert Counter(statuses) == {200: 3000}
    assert abs(east / 3000 - 1 / 3) < 0.03 and abs(west / 3000 - 2 / 3) < 0.03, (east, west)
    assert (spare, backup) == (0, 0)
    assert servers[0].received[0][0]["Authorization"] == "Bearer sk-east"
    assert servers[1].received[0][0]["Authorization"] == "Bearer sk-west"
    records = usage_records(3000, timeout=30)
    assert Counter(record.deployment for record in records) == {"east": east, "west": west}
    assert {record.provider for record in records} == {"openai_provider"}


def test_without_affinity_weights_split_the_traffic(prism_url, api_key, upstreams, router_config, transactional_db):
    router_config(config_of([deployment("a", upstreams[0], weight=1), deployment("b", upstreams[1], weight=2),
                             deployment("c", upstreams[2], weight=0)], [["a", "b", "c"]]))
    assert Counter(chat(prism_url, api_key, 3000)) == {200: 3000}
    a, b, c, _ = served(upstreams)
    assert abs(a / 3000 - 1 / 3) < 0.03 and abs(b / 3000 - 2 / 3) < 0.03 and c == 0, (a, b, c)
    usage_records(3000, timeout=30)


def test_affinity_keeps_a_user_on_one_deployment(prism_url, api_key, upstreams, router_config, transactional_db):
    router_config(config_of([deployment("a", upstreams[0], weight=1), deployment("b", upstreams[1], weight=2)],
                            [["a", "b"]], affinity="user"))
    chat(prism_url, api_key, 100, user="the-same-user")
    assert sorted(served(upstreams)[:2]) == [0, 100]
    before = served(upstreams)
    bodies = [{"model": "gpt-4o", "messages": MESSAGES, "user": f"user-{n}"} for n in range(100)]
    assert set(asyncio.run(chat_many(prism_url, api_key, bodies))) == {200}
    a, b = (after - was for after, was in zip(served(upstreams)[:2], before[:2]))
    assert a + b == 100 and 15 <= a <= 50, (a, b)  # by weight, 1:2
    usage_records(200)


def test_affinity_by_header(prism_url, api_key, upstreams, router_config, transactional_db):
    router_config(config_of([deployment("a", upstreams[0]), deployment("b", upstreams[1])], [["a", "b"]],
                            affinity="header:x-session-id"))
    with openai.OpenAI(base_url=f"{prism_url}/v1", api_key=api_key, max_retries=0,
                       default_headers={"x-session-id": "s-1"}) as client:
        for _ in range(30):
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert sorted(served(upstreams)[:2]) == [0, 30]
    usage_records(30)


def test_a_failing_deployment_is_taken_out_probed_and_brought_back(prism_url, api_key, upstreams, router_config,
                                                                   settings, transactional_db):
    settings.PRISM_DEPLOYMENT_COOLDOWN, settings.PRISM_DEPLOYMENT_FAILURES = 2.0, 3
    good, bad = upstreams[0], upstreams[1]

    def bad_model(model, wait):
        router_config(config_of([deployment("good", good), deployment("bad", bad, upstream_model=model, timeout=0.3)],
                                [["good", "bad"]]))
        time.sleep(wait)  # config.yml is looked at once a second; the cooldown is 2 s

    bad_model("gpt-4o-fault-503", 1.1)
    assert Counter(chat(prism_url, api_key, 30, concurrency=1)) == {200: 30}  # clients see no error
    assert len(bad.received) == 3  # three failures, then out

    bad_model("gpt-4o-delay-200", 2.1)  # now it hangs past its timeout: the probe after the cooldown fails
    assert Counter(chat(prism_url, api_key, 20, concurrency=1)) == {200: 20}
    assert len(bad.received) == 4

    bad_model("gpt-4o", 2.1)  # healthy again: the next probe succeeds and it serves
    assert Counter(chat(prism_url, api_key, 100, concurrency=1)) == {200: 100}
    assert len(bad.received) > 4 + 20
    records = usage_records(150)
    assert {record.deployment for record in records[-100:]} == {"good", "bad"}


def test_a_429s_retry_after_takes_the_deployment_out_at_once(prism_url, api_key, upstreams, router_config,
                                                             transactional_db):
    # Weighted so that the first request goes to the limited one (else 10 in a row might all miss it).
    router_config(config_of([deployment("ok", upstreams[0]), deployment("limited", upstreams[1], weight=10_000,
                                                                       upstream_model="gpt-4o-fault-429")],
                            [["ok", "limited"]]))
    assert Counter(chat(prism_url, api_key, 10, concurrency=1)) == {200: 10}
    assert len(upstreams[1].received) == 1  # its Retry-After: 1 opened the circuit, whatever the failure count
    usage_records(10)


def test_the_next_group_serves_when_the_first_is_out(prism_url, api_key, upstreams, router_config, settings,
                                                     transactional_db):
    settings.PRISM_DEPLOYMENT_FAILURES = 1
    router_config(config_of([deployment("down", upstreams[0], upstream_model="gpt-4o-fault-500"),
                             deployment("fallback", upstreams[1], upstream_model="gpt-4o-mini")],
                            [["down"], ["fallback"]]))
    assert Counter(chat(prism_url, api_key, 10, concurrency=1)) == {200: 10}
    assert served(upstreams)[:2] == [1, 10]
    assert {record.served_model for record in usage_records(10)} == {"gpt-4o-mini"}


def test_every_deployment_out_answers_503_with_retry_after(openai_client, upstreams, router_config, settings):
    settings.PRISM_DEPLOYMENT_FAILURES, settings.PRISM_DEPLOYMENT_COOLDOWN = 1, 20
    closed_port = {"name": "gone", "provider": "openai_provider", "base_url": "http://127.0.0.1:9/v1"}
    router_config(config_of([closed_port], [["gone"]]))
    with pytest.raises(openai.InternalServerError):  # the connection fails: the circuit opens
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(openai.APIStatusError) as raised:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    error = raised.value
    assert (error.status_code, error.code, error.type) == (503, "deployments_unavailable", "api_error")
    assert 1 <= int(error.response.headers["retry-after"]) <= 20
    assert "gpt-4o" in error.message
    assert [record.status_code for record in usage_records(2)] == [503, 503]


def test_least_busy_favours_the_fast_deployment(prism_url, api_key, upstreams, router_config, transactional_db):
    router_config(config_of([deployment("fast", upstreams[0], upstream_model="gpt-4o-delay-10"),
                             deployment("slow", upstreams[1], upstream_model="gpt-4o-delay-100")],
                            [["fast", "slow"]], strategy="least-busy"))
    assert Counter(chat(prism_url, api_key, 1000, concurrency=20)) == {200: 1000}
    fast, slow = served(upstreams)[:2]
    assert fast / 1000 >= 0.85, (fast, slow)
    usage_records(1000, timeout=30)


def test_lowest_latency_and_capacity_strategies_route(prism_url, api_key, upstreams, router_config,
                                                      transactional_db):
    router_config(config_of([deployment("fast", upstreams[0], upstream_model="gpt-4o"),
                             deployment("slow", upstreams[1], upstream_model="gpt-4o-delay-20")],
                            [["fast", "slow"]], strategy="lowest-latency"))
    chat(prism_url, api_key, 100, concurrency=1)
    assert served(upstreams)[0] >= 95  # each is measured once, then the fast one serves
    router_config(config_of([deployment("small", upstreams[2], rpm=5), deployment("large", upstreams[3], rpm=1000)],
                            [["small", "large"]], strategy="capacity"))
    time.sleep(1.1)
    wait_for_a_fresh_minute()
    chat(prism_url, api_key, 20, concurrency=1)
    small, large = served(upstreams)[2:]
    assert small <= 1 and small + large == 20  # the largest share of its capacity left is the large one's
    usage_records(120)


def test_admin_deployments_route_with_their_own_encrypted_key(openai_client, upstreams, tenant):
    from tenants.credentials import credential_encrypt

    east = Deployment.objects.create(name="east", provider="openai_provider", base_url=upstreams[0].url,
                                     encrypted_key=credential_encrypt("sk-tenant-east"), upstream_model="gpt-4o-east")
    off = Deployment.objects.create(name="off", provider="openai_provider", base_url=upstreams[1].url,
                                    is_enabled=False)
    route = DeploymentRoute.objects.create(tenant=tenant, model="gpt-4o*")
    DeploymentGroup.objects.create(route=route, position=0).deployments.set([east, off])
    completion = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.model == "gpt-4o-east"
    headers, body = upstreams[0].received[-1]
    assert headers["Authorization"] == "Bearer sk-tenant-east" and b'"gpt-4o-east"' in body
    assert len(upstreams[1].received) == 0
    assert usage_records(1)[0].deployment == "east"


def test_a_model_without_deployments_routes_as_before(openai_client, upstream, upstreams, router_config):
    router_config(config_of([deployment("a", upstreams[0])], [["a"]]))
    assert openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES).choices
    assert served(upstreams)[0] == 0
    [record] = usage_records(1)
    assert (record.provider, record.deployment) == ("openai_provider", "")


def test_the_admin_keeps_a_deployments_key_write_only(client, db):
    client.force_login(User.objects.create_superuser("staff", "s@example.com", "pw"))
    response = client.post("/admin/deployments/deployment/add/", {
        "name": "east", "provider": "openai_provider", "base_url": "http://127.0.0.1:1/v1", "weight": 1,
        "api_key": "sk-secret-east", "is_enabled": "on",
    })
    assert response.status_code == 302, response.content
    saved = Deployment.objects.get()
    assert saved.encrypted_key and "sk-secret-east" not in saved.encrypted_key
    page = client.get(f"/admin/deployments/deployment/{saved.id}/change/").content.decode()
    assert "sk-secret-east" not in page and saved.encrypted_key not in page
    client.post(f"/admin/deployments/deployment/{saved.id}/change/", {
        "name": "east", "provider": "openai_provider", "base_url": "http://127.0.0.1:1/v1", "weight": 2,
        "is_enabled": "on",
    })
    assert Deployment.objects.get().encrypted_key == saved.encrypted_key  # an empty key field keeps the key
    route_page = client.get("/admin/deployments/deploymentroute/add/")
    assert route_page.status_code == 200 and b"group" in route_page.content


def test_health_lists_deployments_for_staff_and_readyz_follows_them(client, db, upstreams, router_config, settings):
    settings.PRISM_DEPLOYMENT_FAILURES, settings.PRISM_METRICS_TOKEN = 1, "scrape-token"
    router_config(config_of([deployment("a", upstreams[0], rpm=60)], [["a"]]))
    assert client.get("/v1/deployments/health").status_code == 403
    assert client.get("/readyz").status_code == 200
    from asgiref.sync import async_to_sync

    from deployments.config import router_file
    from deployments.shared_state import deployment_state
    from deployments.state import Outcome

    [info] = router_file().deployments
    async_to_sync(deployment_state().release)(info, lease="x", probe=False, outcome=Outcome(True, 0.1))
    answer = client.get("/v1/deployments/health", HTTP_AUTHORIZATION="Bearer scrape-token").json()
    [entry] = answer["data"]
    assert (entry["name"], entry["circuit"], entry["errors"], entry["rpm"]) == ("a", "open", 1, 60)
    assert "api_key" not in entry
    client.force_login(User.objects.create_superuser("staff", "s@example.com", "pw"))
    assert [(d["name"], d["circuit"]) for d in client.get("/v1/deployments/health").json()["data"]] == [("a", "open")]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "deployment" in ready.json()["error"]["message"]


def test_a_request_refused_by_its_limits_gives_its_deployment_back(prism_url, api_key, upstreams, router_config,
                                                                   transactional_db):
    """The deployment is chosen while the limits are checked: a refused request leaves nothing in flight
    and does not count against the deployment's capacity."""
    from asgiref.sync import async_to_sync

    from deployments.config import router_file
    from deployments.shared_state import deployment_state
    from tenants.models import ApiKey

    ApiKey.objects.update(rpm_limit=1)
    router_config(config_of([deployment("a", upstreams[0], rpm=60)], [["a"]]))
    wait_for_a_fresh_minute()
    with httpx.Client(headers={"Authorization": f"Bearer {api_key}"}) as client:
        statuses = [client.post(f"{prism_url}/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES})
                    .status_code for _ in range(3)]
    assert statuses == [200, 429, 429]
    usage_records(3)
    [info] = router_file().deployments
    [(health, rpm)] = async_to_sync(deployment_state().snapshot)([info])
    assert (health.in_flight, rpm, health.requests, served(upstreams)[0]) == ({}, 1, 1, 1)


def test_a_request_with_every_feature_leaves_nothing_to_the_garbage_collector(prism_url, api_key, upstreams,
                                                                              router_config, transactional_db):
    """A request's context is freed when it ends, not by the cycle collector (which runs rarely under load,
    prism_site/asgi.py): with limits, budgets and deployments, nothing of it is left in a reference cycle."""
    import gc

    from gateway.plugins.interface import RequestContext
    from tenants.models import ApiKey

    ApiKey.objects.update(rpm_limit=1000, tpm_limit=10**7, monthly_token_budget=10**9, budget_usd=1000)
    router_config(config_of([deployment("a", upstreams[0])], [["a"]]))
    with httpx.Client(headers={"Authorization": f"Bearer {api_key}"}) as client:
        def chat(stream=False):
            answer = client.post(f"{prism_url}/v1/chat/completions",
                                 json={"model": "gpt-4o", "messages": MESSAGES, "stream": stream})
            assert answer.status_code == 200

        chat()
        usage_records(1)
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            chat(), chat(stream=True)
            usage_records(3)
            gc.collect()
            cycles = [found for found in gc.garbage if isinstance(found, RequestContext)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert cycles == []


def chat_through_two_prisms(config: dict, count: int, *, api_key, redis_url, tmp_path, settings, upstream,
                            **env) -> Counter:
    """Two Prism processes on one Redis take turns at `count` chats (in a fresh minute); their statuses."""
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    env = {"REDIS_URL": redis_url, "PRISM_COUNTER_PREFIX": settings.PRISM_COUNTER_PREFIX,
           "PRISM_ROUTER_CONFIG": str(path), **env}
    prisms = [PrismProcess(upstream.url, server="uvicorn", **env) for _ in range(2)]
    try:
        wait_for_a_fresh_minute(margin=20)
        with httpx.Client(headers={"Authorization": f"Bearer {api_key}"}) as client:
            return Counter(client.post(f"{prism.url}/v1/chat/completions",
                                       json={"model": "gpt-4o", "messages": MESSAGES}).status_code
                           for prism, _ in zip(cycle(prisms), range(count)))
    finally:
        for prism in prisms:
            prism.stop()


def test_two_processes_share_a_deployments_capacity_through_redis(redis_url, api_key, upstreams, tmp_path,  # noqa: F811
                                                                  settings, transactional_db):
    config = config_of([deployment("capped", upstreams[0], rpm=60), deployment("open", upstreams[1])],
                       [["capped", "open"]])
    statuses = chat_through_two_prisms(config, 200, api_key=api_key, redis_url=redis_url, tmp_path=tmp_path,
                                       settings=settings, upstream=upstreams[2])
    assert statuses == {200: 200}
    assert served(upstreams)[:2] == [60, 140]
    assert Counter(record.deployment for record in usage_records(200)) == {"capped": 60, "open": 140}


def test_a_deployment_taken_out_by_one_process_is_out_for_the_other(redis_url, api_key, upstreams, tmp_path,  # noqa: F811
                                                                    settings, transactional_db):
    config = config_of([deployment("good", upstreams[0]),
                        deployment("bad", upstreams[1], upstream_model="gpt-4o-fault-503")], [["good", "bad"]])
    statuses = chat_through_two_prisms(config, 60, api_key=api_key, redis_url=redis_url, tmp_path=tmp_path,
                                       settings=settings, upstream=upstreams[2], PRISM_DEPLOYMENT_COOLDOWN="30")
    assert statuses == {200: 60}
    assert len(upstreams[1].received) == 3  # three failures in all, whichever process saw them
    usage_records(60)


def test_a_stream_through_deployments_is_recorded_with_its_first_token(openai_client, upstreams, router_config,
                                                                       client):
    router_config(config_of([deployment("a", upstreams[0], upstream_model="gpt-4o-delay-20")], [["a"]],
                            strategy="lowest-latency"))
    chunks = list(openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert chunks and upstreams[0].received
    [record] = usage_records(1)
    assert (record.deployment, record.is_stream, record.status_code) == ("a", True, 200)
    assert record.ttft_ms is not None


def test_anthropic_deployments_use_their_own_key_and_url_for_chat_and_messages(prism_url, api_key, upstreams,
                                                                               router_config, monkeypatch,
                                                                               transactional_db):
    import anthropic

    monkeypatch.setenv("CLAUDE_EAST_KEY", "sk-ant-east")
    router_config({"prefix_map": {}, "deployments": [
        {"name": "claude-east", "provider": "anthropic_provider", "base_url": upstreams[0].url.removesuffix("/v1"),
         "api_key_env": "CLAUDE_EAST_KEY"}],
        "models": {"claude-haiku-4-5": {"groups": [["claude-east"]]}}})
    with openai.OpenAI(base_url=f"{prism_url}/v1", api_key=api_key, max_retries=0) as client:
        assert client.chat.completions.create(model="claude-haiku-4-5", messages=MESSAGES).choices
    with anthropic.Anthropic(base_url=prism_url, api_key=api_key, max_retries=0) as client:
        assert client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES).content
    sent = [headers.get("x-api-key") or headers.get("Authorization") for headers, _ in upstreams[0].received]
    assert [key.removeprefix("Bearer ") for key in sent] == ["sk-ant-east"] * 2  # the SDK's header, or the relay's
    assert [record.deployment for record in usage_records(2)] == ["claude-east"] * 2


def test_models_named_by_deployment_routes_are_listed(openai_client, upstreams, router_config):
    router_config({"deployments": [deployment("a", upstreams[0], upstream_model="gpt-4o")],
                   "models": {"acme-large": {"groups": [["a"]]}, "acme-*": {"groups": [["a"]]}}})
    assert "acme-large" in [model.id for model in openai_client.models.list()]
    assert openai_client.models.retrieve("acme-large").owned_by == "prism"
    assert openai_client.chat.completions.create(model="acme-small", messages=MESSAGES).model == "gpt-4o"
    usage_records(1)


def test_a_stored_response_goes_back_to_its_deployment_with_its_key(openai_client, upstreams, router_config,
                                                                    monkeypatch):
    monkeypatch.setenv("WEST_KEY", "sk-west")
    router_config(config_of([deployment("east", upstreams[0], weight=0),
                             deployment("west", upstreams[1], api_key_env="WEST_KEY")],
                            [["east", "west"]]))
    created = openai_client.responses.create(model="gpt-4o", input="Remember me")
    assert openai_client.responses.retrieve(created.id).id == created.id
    follow_up = openai_client.responses.create(model="gpt-4o", input="And then?", previous_response_id=created.id)
    assert follow_up.id != created.id
    assert list(upstreams[1].paths) == ["/v1/responses", f"/v1/responses/{created.id}", "/v1/responses"]
    assert {headers["Authorization"] for headers, _ in upstreams[1].received} == {"Bearer sk-west"}
    assert [record.deployment for record in usage_records(3)] == ["west"] * 3


def test_a_stream_fails_over_before_its_first_byte(openai_client, upstreams, router_config):
    router_config(config_of([deployment("bad", upstreams[0], upstream_model="gpt-4o-fault-503"),
                             deployment("standby", upstreams[1], weight=0)], [["bad", "standby"]]))
    chunks = list(openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert served(upstreams)[:2] == [1, 1]
    [record] = usage_records(1)
    assert (record.deployment, record.status_code, record.is_stream) == ("standby", 200, True)
