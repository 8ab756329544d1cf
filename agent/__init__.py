"""The agent: rooms of their own, each importing only downwards (perception, memory, tools).

Kept import-free so that ``moss-agent --help`` stays instant; import from the rooms:

- ``agent.reasoning``: reasoners (``registry.get_reasoner``), the tool loop, answers
  (``answer.Answer``), ``ask``, triggers, time expressions
- ``agent.recording``: the ``Recorder`` (perception -> memory, resumable) and its sinks
- ``agent.bus``: the in-process ``EventBus`` and the MQTT bridge
- ``agent.voice``: LiveKit adapters, the browser endpoint, espeak-ng speech
- ``agent.cli``: the ``moss-agent`` command, one module per command
- ``agent.testing``: ``EventScript``, ``ScriptedSession``, ``RunResult.expect``
"""
