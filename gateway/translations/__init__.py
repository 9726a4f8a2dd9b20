"""Requests and answers of one OpenAI API rewritten for another, as pure functions, for providers that speak only one."""
