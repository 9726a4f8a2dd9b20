import orjson
import pytest

from gateway.plugins.model_router import prefix_map_load, route_resolve
from tenants.models import RoutingRule
from tenants.selectors import RouteRule
from tests.conftest import usage_records

PREFIX_MAP = {"gpt": "openai_provider", "gpt-4o": "other_provider", "mock": "mock_provider"}


def rule(prefix, provider, upstream="", priority=0, for_tenant=False):
    return RouteRule(prefix, provider, upstream, priority, for_tenant)


def test_the_shipped_config_is_the_specs_prefix_map():
    assert prefix_map_load()["gpt"] == "openai_provider"


@pytest.mark.parametrize(
    "model, provider",
    [("gpt-4", "openai_provider"), ("gpt-4o-mini", "other_provider"), ("mock-1", "mock_provider")],
)
def test_the_longest_prefix_wins(model, provider):
    target = route_resolve(model, rules=(), prefix_map=PREFIX_MAP)
    assert (target.provider, target.upstream_model) == (provider, model)


def test_an_unknown_model_has_no_route():
    assert route_resolve("llama-3", rules=(), prefix_map=PREFIX_MAP) is None


def test_rules_beat_the_config_and_a_tenants_rules_beat_global_ones():
    rules = (rule("gpt", "mock_provider", "mock-1"), rule("g", "tenant_provider", for_tenant=True))
    assert route_resolve("gpt-4", rules=rules, prefix_map=PREFIX_MAP).provider == "tenant_provider"
    assert route_resolve("gpt-4", rules=rules[:1], prefix_map=PREFIX_MAP).upstream_model == "mock-1"


def test_priority_breaks_ties_between_rules_of_the_same_prefix():
    rules = (rule("gpt", "low", priority=1), rule("gpt", "high", priority=5))
    assert route_resolve("gpt-4", rules=rules, prefix_map=PREFIX_MAP).provider == "high"


def test_a_tenants_rule_from_the_admin_renames_the_upstream_model_without_a_restart(openai_client, tenant, upstream):
    openai_client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "a"}])
    RoutingRule.objects.create(tenant=tenant, model_prefix="gpt-4", provider="openai_provider", upstream_model="gpt-4o")
    completion = openai_client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "b"}])
    assert orjson.loads(upstream.received[-1][1])["model"] == "gpt-4o"
    assert completion.model == "gpt-4o"
    RoutingRule.objects.create(tenant=None, model_prefix="gpt-3", provider="mock_provider", upstream_model="mock-2")
    assert openai_client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "c"}]).model == "mock-2"
    records = usage_records(3)
    assert [(r.requested_model, r.served_model, r.provider) for r in records] == [
        ("gpt-4", "gpt-4", "openai_provider"),
        ("gpt-4", "gpt-4o", "openai_provider"),
        ("gpt-3.5-turbo", "mock-2", "mock_provider"),
    ]
