"""Reasoner implementations: ``rules``, ``openai`` (OpenAI-compatible servers) and ``moss``."""
