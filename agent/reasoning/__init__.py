"""Reasoning: reasoners behind one interface, the tool loop, answers, triggers.

``reasoner`` holds the interface and the registry of reasoner names; ``rules``,
``openai_chat`` and ``moss`` implement it; ``ask`` runs one question against memory.
"""
