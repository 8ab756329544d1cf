"""The event bus: in-process publish/subscribe (``in_process``) and the MQTT bridge (``mqtt``)."""
