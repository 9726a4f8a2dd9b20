"""One API's requests and answers rewritten for another, as pure functions, for providers that speak only one."""
