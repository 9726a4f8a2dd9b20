"""One API's requests and answers in another API's format, as pure functions on plain dicts and bytes (no network)."""
