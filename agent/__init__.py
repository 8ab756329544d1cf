"""Reasoners, the tool loop, triggers, the event bus and the CLI.

Kept import-free so that ``moss-agent --help`` stays instant; import from the modules:

- ``agent.reasoner``: ``Reasoner``, ``get_reasoner``, ``ReasonerError``
- ``agent.answer``: ``Answer``, ``Citation``, ``ToolCallRecord``
- ``agent.ask``: ``ask`` (one question, recorded in memory)
- ``agent.bus`` / ``agent.mqtt``: ``EventBus``; ``MqttPublisher``, ``mqtt_messages``
- ``agent.triggers``: ``TriggerEngine``, ``load_triggers``
- ``agent.testing``: ``EventScript``, ``ScriptedSession``, ``RunResult.expect``
"""
