"""One API's requests and answers in another API's format, as plain dicts and bytes (no network here)."""
