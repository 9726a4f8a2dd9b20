"""The deployments' shared state: one contract, run in the process and in Redis, on a clock of the test's own."""

import uuid
from dataclasses import replace

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured

from deployments.balancer import order
from providers import config as providers_config
from deployments.config import router_file, router_file_parse
from deployments.selectors import DeploymentInfo
from deployments.shared_state import RedisState
from deployments.state import LocalState, Outcome
from tests.test_limits import redis_url  # noqa: F401  (a fixture)

OK, FAILED = Outcome(False, 0.05), Outcome(True, 0.05)


@pytest.fixture(params=["local", "redis"])
def backend(request, settings):
    settings.PRISM_DEPLOYMENT_FAILURES, settings.PRISM_DEPLOYMENT_FAILURE_WINDOW = 3, 10.0
    settings.PRISM_DEPLOYMENT_COOLDOWN, settings.PRISM_DEPLOYMENT_COOLDOWN_MAX = 5.0, 30.0
    now = [1_000_000.0]
    state = LocalState(clock=lambda: now[0]) if request.param == "local" else RedisState(
        request.getfixturevalue("redis_url"), clock=lambda: now[0])
    state.now = now
    return state


def deployments(*names, **fields) -> list[DeploymentInfo]:
    run = uuid.uuid4().hex  # keys of this test's own in Redis
    return [DeploymentInfo(key=f"{run}/{name}", name=name, provider="openai_provider", **fields) for name in names]


def acquire(state, candidates, mode="first", lease=None):
    async def acquiring():  # RedisState.acquire queues its call at once, so it needs the loop running
        return await state.acquire(candidates, mode=mode, lease=lease or uuid.uuid4().hex, lease_for=60)

    acquired = async_to_sync(acquiring)()
    return (None if acquired.index is None else candidates[acquired.index].name), acquired


def release(state, deployment, outcome, *, lease="", probe=False) -> int:
    return async_to_sync(state.release)(deployment, lease=lease, probe=probe, outcome=outcome)


def test_failures_open_the_circuit_then_one_probe_closes_it(backend):
    a, b = candidates = deployments("a", "b")
    for _ in range(2):
        assert release(backend, a, FAILED) == 0
    assert release(backend, a, FAILED) == 1  # the third failure in the window opens it
    assert acquire(backend, candidates)[0] == "b"
    backend.now[0] += 5.1  # the cooldown is over: one probe, and only one
    name, probe = acquire(backend, candidates)
    assert (name, probe.probe) == ("a", True)
    assert acquire(backend, candidates)[0] == "b"
    assert release(backend, a, OK, probe=True) == 2
    assert acquire(backend, candidates)[0] == "a"


def test_a_failed_probe_reopens_and_failures_outside_the_window_do_not_add_up(backend):
    a, = candidates = deployments("a")
    release(backend, a, FAILED)
    release(backend, a, FAILED)
    backend.now[0] += 11  # the window is over
    assert release(backend, a, FAILED) == 0
    release(backend, a, FAILED)
    assert release(backend, a, FAILED) == 1
    name, acquired = acquire(backend, candidates)
    assert name is None and acquired.retry_at == pytest.approx(backend.now[0] + 5)
    backend.now[0] += 5.1
    assert acquire(backend, candidates)[1].probe
    assert release(backend, a, FAILED, probe=True) == 1
    assert acquire(backend, candidates)[0] is None


def test_a_429s_retry_after_opens_at_once_up_to_the_maximum(backend):
    a, = candidates = deployments("a")
    assert release(backend, a, Outcome(True, 0.01, cooldown=120)) == 1
    backend.now[0] += 29
    assert acquire(backend, candidates)[0] is None
    backend.now[0] += 1.1
    assert acquire(backend, candidates)[0] == "a"


def test_capacity_per_minute_is_never_passed(backend):
    capped, spare = candidates = deployments("capped", "spare", rpm=3)
    backend.now[0] = 60 * 20_000 + 1
    assert [acquire(backend, candidates)[0] for _ in range(5)] == ["capped"] * 3 + ["spare"] * 2
    backend.now[0] += 60
    assert acquire(backend, candidates)[0] == "capped"
    by_tokens = deployments("a", "b", tpm=100)
    release(backend, by_tokens[0], Outcome(False, 0.01, tokens=100))
    assert acquire(backend, by_tokens)[0] == "b"


def test_strategies_pick_the_least_busy_the_fastest_and_the_emptiest(backend):
    a, b = candidates = deployments("a", "b")
    acquire(backend, candidates, lease="one")
    assert acquire(backend, candidates, mode="least-busy")[0] == "b"
    release(backend, a, Outcome(False, 0.5), lease="one")
    release(backend, b, Outcome(False, 0.1))
    assert acquire(backend, candidates, mode="lowest-latency")[0] == "b"
    small, large = sized = deployments("small", "large", rpm=10)
    acquire(backend, [small])
    assert acquire(backend, sized, mode="capacity")[0] == "large"


def test_weighted_order_and_affinity():
    a, b, spare = deployments("a", "b", "spare")
    group = (a, replace(b, weight=3), replace(spare, weight=0))
    firsts = [order(group, "")[0].name for _ in range(4000)]
    assert abs(firsts.count("b") / 4000 - 0.75) < 0.03 and "spare" not in firsts
    assert all(order(group, "")[-1].name == "spare" for _ in range(100))
    assert len({order(group, "user-1")[0].name for _ in range(100)}) == 1


def test_config_names_its_errors_and_a_bad_edit_keeps_the_last_good_file(tmp_path, settings, monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="unknown deployments"):
        router_file_parse({"deployments": [], "models": {"m": {"groups": [["nowhere"]]}}})
    with pytest.raises(ImproperlyConfigured, match="strategy"):
        router_file_parse({"deployments": [{"name": "a", "provider": "p"}],
                           "models": {"m": {"strategy": "fastest", "groups": [["a"]]}}})
    path = tmp_path / "config.yml"
    path.write_text("deployments: [{name: a, provider: openai_provider, enabled: false}]\n"
                    "models: {m: {groups: [[a]]}}\n")
    settings.PRISM_ROUTER_CONFIG = str(path)
    now = [0.0]
    monkeypatch.setattr(providers_config, "clock", lambda: now[0])
    assert router_file().routes[0].groups == ()  # every deployment of the group is disabled
    path.write_text("models: [this is not a mapping")
    now[0] += 0.5
    assert router_file().routes[0].model == "m"  # not looked at again within the second
    now[0] += 1
    assert router_file().routes[0].model == "m"  # looked at, broken: the last good one stays


def test_the_system_check_names_an_unknown_provider(tmp_path, settings):
    from deployments.checks import deployments_check

    path = tmp_path / "config.yml"
    path.write_text("deployments: [{name: a, provider: nowhere}]\nmodels: {m: {groups: [[a]]}}\n")
    settings.PRISM_ROUTER_CONFIG = str(path)
    [error] = deployments_check(None)
    assert error.id == "prism.E102" and "nowhere" in error.msg
    path.write_text("models: {m: {groups: [[missing]]}}\n")
    [error] = deployments_check(None)
    assert error.id == "prism.E101" and "missing" in error.msg


def test_without_redis_the_process_keeps_its_own_state(settings):
    settings.PRISM_DEPLOYMENT_FAILURES = 1
    unreachable = RedisState("redis://127.0.0.1:1/0")
    a, b = candidates = deployments("a", "b")
    assert acquire(unreachable, candidates)[0] == "a"
    assert release(unreachable, a, FAILED) == 1
    assert acquire(unreachable, candidates)[0] == "b"
    [(health, _), _] = async_to_sync(unreachable.snapshot)(candidates)
    assert health.errors == 1
