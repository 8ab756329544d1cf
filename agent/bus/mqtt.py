"""The bus over MQTT (aiomqtt): the same topics and JSON payloads between processes.

``MqttPublisher`` is a ``Publisher`` (like ``EventBus``) that sends QoS 1 messages and
reconnects with exponential backoff when the broker goes away; ``mqtt_messages`` yields
``BusMessage`` objects for a topic pattern, resubscribing after a reconnect. The
subscriber uses a persistent session (a fixed client id, ``clean_session=False``), so
the broker keeps QoS 1 messages published while it was disconnected. Delivery is
at-least-once; events have content-derived ids, so memory ingests a repeat only once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiomqtt
from pydantic import BaseModel, ValidationError

from agent.bus.in_process import BusMessage, EventBus
from perception.events import BaseEvent, EventKind, event_from_dict
from perception.topics import TOPIC_ROOT, topic_parts

log = logging.getLogger(__name__)

_EVENT_KINDS = {str(k) for k in EventKind}


class MqttUnavailableError(RuntimeError):
    """The broker could not be reached for longer than the caller was willing to wait."""


class PayloadError(ValueError):
    """A message on a ``moss/`` topic that is not what its topic says it is."""


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str | None = (
        None  # fixed id: the broker keeps a subscriber's messages while it is away
    )
    keepalive: int = 30
    qos: int = 1
    reconnect_initial: float = 0.2
    reconnect_max: float = 30.0
    timeout: float = 10.0  # for connecting and for each acknowledgement

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> MqttSettings:
        """``mqtt://user:password@host:port``."""
        parsed = urlparse(url if "://" in url else f"mqtt://{url}")
        if parsed.scheme not in {"mqtt", "tcp"}:
            raise ValueError(f"unsupported MQTT URL {url!r}; use mqtt://host:port")
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 1883,
            username=parsed.username,
            password=parsed.password,
            **overrides,
        )

    def client(
        self, client_id: str | None = None, clean_session: bool | None = None
    ) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=client_id or self.client_id,
            clean_session=clean_session,
            keepalive=self.keepalive,
            timeout=self.timeout,
        )


def encode_payload(payload: Any) -> bytes:
    """JSON bytes: pydantic models (events) by their own serialiser, the rest by ``json``."""
    if isinstance(payload, BaseModel):
        return payload.model_dump_json().encode()
    return json.dumps(payload, ensure_ascii=False).encode()


def decode_payload(topic: str, data: bytes | bytearray | str) -> Any:
    """An event for ``moss/<session>/<event kind>`` topics, plain JSON data otherwise."""
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PayloadError(f"message on {topic} is not JSON: {exc}") from exc
    parts = topic_parts(topic)
    if parts is not None and parts[1] in _EVENT_KINDS:
        if not isinstance(value, dict):
            raise PayloadError(f"message on {topic} is not an event object")
        try:
            return event_from_dict(value)
        except ValidationError as exc:
            raise PayloadError(
                f"message on {topic} is not a valid {parts[1]} event: {exc.errors()[0]['msg']}"
            ) from exc
    return value


class _Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self.initial, self.maximum, self.delay = initial, maximum, initial

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.maximum, self.delay * 2)

    def reset(self) -> None:
        self.delay = self.initial


class MqttPublisher:
    """Publishes to the broker with QoS 1; reconnects (with backoff) when the link drops.

    ``publish`` waits for the broker's acknowledgement; when the broker is down it keeps
    retrying for ``give_up_after`` seconds, then raises ``MqttUnavailableError``.
    """

    def __init__(self, settings: MqttSettings, give_up_after: float = 60.0) -> None:
        self.settings = settings
        self.give_up_after = give_up_after
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()
        self._backoff = _Backoff(settings.reconnect_initial, settings.reconnect_max)
        self.reconnects = 0

    async def __aenter__(self) -> MqttPublisher:
        await self._connected()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _connected(self) -> aiomqtt.Client:
        async with self._lock:
            if self._client is not None:
                return self._client
            deadline = time.monotonic() + self.give_up_after
            while True:
                client = self.settings.client(client_id=f"moss-pub-{uuid.uuid4().hex[:10]}")
                try:
                    await client.__aenter__()
                except aiomqtt.MqttError as exc:
                    if time.monotonic() > deadline:
                        raise MqttUnavailableError(
                            f"cannot reach the MQTT broker at {self.settings.host}:{self.settings.port} ({exc}); "
                            "is mosquitto running?"
                        ) from exc
                    log.warning(
                        "MQTT broker unreachable (%s); retrying in %.1f s", exc, self._backoff.delay
                    )
                    await self._backoff.wait()
                    continue
                self._backoff.reset()
                self._client = client
                return client

    async def _drop(self, client: aiomqtt.Client) -> None:
        async with self._lock:
            if self._client is client:
                self._client = None
                self.reconnects += 1
        try:
            await client.__aexit__(None, None, None)
        except Exception:  # the link is already gone; nothing left to close cleanly
            log.debug("closing a dead MQTT client failed", exc_info=True)

    async def publish(self, topic: str, message: Any) -> None:
        payload = encode_payload(message)
        deadline = time.monotonic() + self.give_up_after
        while True:
            client = await self._connected()
            try:
                await client.publish(topic, payload, qos=self.settings.qos)
                return
            except aiomqtt.MqttError as exc:
                if time.monotonic() > deadline:
                    raise MqttUnavailableError(
                        f"publishing to {topic} failed for {self.give_up_after:g} s: {exc}"
                    ) from exc
                log.warning("MQTT publish to %s failed (%s); reconnecting", topic, exc)
                await self._drop(client)

    async def publish_event(self, event: BaseEvent) -> str:
        from perception.topics import event_topic

        topic = event_topic(event)
        await self.publish(topic, event)
        return topic

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.__aexit__(None, None, None)
            except aiomqtt.MqttError:
                log.debug("MQTT disconnect failed", exc_info=True)


async def mqtt_messages(
    settings: MqttSettings,
    pattern: str = f"{TOPIC_ROOT}/#",
    *,
    ready: asyncio.Event | None = None,
) -> AsyncIterator[BusMessage]:
    """Messages on ``pattern`` for as long as the caller iterates; reconnects by itself.

    Undecodable payloads are logged and skipped (one bad publisher must not stop the
    consumer). ``ready`` is set once the first subscription is in place.
    """
    client_id = settings.client_id or f"moss-sub-{uuid.uuid4().hex[:10]}"
    backoff = _Backoff(settings.reconnect_initial, settings.reconnect_max)
    while True:
        try:
            async with settings.client(client_id=client_id, clean_session=False) as client:
                await client.subscribe(pattern, qos=settings.qos)
                backoff.reset()
                if ready is not None:
                    ready.set()
                async for message in client.messages:
                    topic = message.topic.value
                    try:
                        payload = decode_payload(topic, message.payload)
                    except PayloadError as exc:
                        log.warning("skipping a message: %s", exc)
                        continue
                    yield BusMessage(topic, payload, time.perf_counter())
        except aiomqtt.MqttError as exc:
            log.warning(
                "MQTT subscription to %s lost (%s); reconnecting in %.1f s",
                pattern,
                exc,
                backoff.delay,
            )
            await backoff.wait()


async def forward_bus_to_mqtt(
    bus: EventBus, publisher: MqttPublisher, pattern: str = f"{TOPIC_ROOT}/#"
) -> int:
    """Send everything on ``bus`` matching ``pattern`` to the broker until the bus closes."""
    sent = 0
    with bus.subscribe(pattern) as sub:
        async for message in sub:
            await publisher.publish(message.topic, message.payload)
            sent += 1
    return sent


async def forward_mqtt_to_bus(
    settings: MqttSettings, bus: EventBus, pattern: str = f"{TOPIC_ROOT}/#"
) -> None:
    """Put every broker message matching ``pattern`` on ``bus`` (runs until cancelled)."""
    async for message in mqtt_messages(settings, pattern):
        await bus.publish(message.topic, message.payload)


__all__ = [
    "MqttPublisher",
    "MqttSettings",
    "MqttUnavailableError",
    "PayloadError",
    "decode_payload",
    "encode_payload",
    "forward_bus_to_mqtt",
    "forward_mqtt_to_bus",
    "mqtt_messages",
]
