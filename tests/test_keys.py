from tenants.keys import key_generate, key_hash, key_matches, key_prefix


def test_a_key_has_a_public_prefix_and_a_long_secret():
    new = key_generate()
    scheme, prefix, secret = new.raw.split("-", 2)
    assert (scheme, prefix) == ("prism", new.prefix)
    assert len(secret) >= 43
    assert key_prefix(new.raw) == new.prefix


def test_malformed_keys_have_no_prefix():
    for raw in ["", "sk-abc", "prism-", "prism-short-secret", "prism-0123456789ab-", "other-0123456789ab-secret"]:
        assert key_prefix(raw) is None


def test_the_hash_is_keyed_and_not_the_key(settings):
    raw = key_generate().raw
    stored = key_hash(raw)
    assert raw not in stored and len(stored) == 64
    assert key_matches(raw, stored)
    assert not key_matches(raw + "x", stored)
    settings.PRISM_KEY_PEPPER = "another pepper"
    assert not key_matches(raw, stored)
