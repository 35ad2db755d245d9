"""One WebSocket conversation: authenticate, follow channels (with resume), answer the client.

Close codes: 4400 bad request (a frame that is not JSON within our limits; before authentication,
any bad message), 4401 not authenticated (or the token expired), 4404 nothing to
follow that you can see, 4408 no auth message in time, 4410 too slow (live messages piled up past
WS_QUEUE_SIZE), 4429 too many messages from the client. Every refusal is preceded by an `error`
message saying why. Replies to the client's own messages wait for room instead of counting as slow.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from flask import current_app
from simple_websocket import ConnectionClosed

from api.auth.guard import Principal, authenticate
from api.errors import ApiError
from api.realtime import protocol
from api.realtime.connection import Connection, SerializedSocket
from api.realtime.hub import Hub
from api.realtime.inbox import CLOSE_TOO_MANY_MESSAGES, MESSAGES_PER_SECOND, MessageBudget, waiting_frames
from api.realtime.initial_data import dashboard_initial_data
from api.realtime.process_hub import process_hub
from api.realtime.protocol import StreamId
from api.realtime.socket_auth import (
    CLOSE_BAD_REQUEST,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHORIZED,
    Refused,
    Session,
    authenticate_socket,
)
from api.realtime.streams import Item, read_backlog, read_tails
from api.realtime.subscriptions import (
    MAX_CHANNELS,
    authorize_channel,
    educator_channels,
    own_channels,
    taught_section_rows,
)
from models import db
from models.queries import read_without_transaction
from services.envelope import control_text
from services.json_text import spliced_dumps

CLOSE_INTERNAL = 1011  # the server hit an unexpected condition
log = logging.getLogger(__name__)
IDLE_RECEIVE_SECONDS = 30.0  # wake up at least this often to check the token's expiry


def _positions(
    hub: Hub, channels: list[str], resume: dict[str, str | None]
) -> tuple[dict[str, StreamId], list[Item], list[str]]:
    """Where each channel starts for this socket, what it missed and the `resync`s to send: after the client's
    resume point if the stream still covers it (else `resync`: refetch), or from the stream's end when it sent none."""
    starts: dict[str, StreamId] = {}
    backlog: list[Item] = []
    resyncs: list[str] = []
    for channel in channels:
        last_id = resume[channel]
        if last_id is None:
            continue
        try:
            found = read_backlog(hub.client, channel, last_id)
        except redis.RedisError:
            found = None
        if found is None:
            resyncs.append(
                protocol.control(
                    "resync",
                    {"last_id": last_id, "reason": "messages after last_id are no longer kept: refetch over REST"},
                    channel,
                )
            )
        else:
            starts[channel] = protocol.parse_stream_id(last_id)
            backlog += found
    fresh = [channel for channel in channels if channel not in starts]
    try:
        starts.update(read_tails(hub.client, fresh) if fresh else {})
    except redis.RedisError:
        starts.update({channel: (0, 0) for channel in fresh})  # Redis is away: the hub will resync them
    return starts, backlog, resyncs


def _follow(
    hub: Hub,
    connection: Connection,
    channels: list[str],
    last_id: str | dict[str, str] | None,
    before_replay: Any = None,
) -> None:
    """Follow channels: register first (live messages are held), then replay, so nothing falls between.
    Where each channel starts is read before `before_replay` (a dashboard's initial data) reads the database: a
    message published meanwhile is then delivered live (its change may also be in the initial data), where
    reading the streams' ends afterwards would skip it although the initial data was read before it."""
    resume = {channel: protocol.last_id_for(last_id, channel) for channel in channels}
    connection.hold(channels)
    hub.add(connection, channels)
    starts, backlog, resyncs = _positions(hub, channels, resume)
    # only now "subscribed": whatever is published after the client reads it comes after `starts`, so it is delivered
    connection.reply(protocol.control("subscribed", {"channels": connection.channels}))
    if before_replay is not None:
        before_replay()
    db.session.remove()  # a socket may stay open for hours: give the database connection back now
    for resync in resyncs:
        connection.reply(resync)
    if backlog:
        hub.fence()  # live messages the backlog overlaps are now held, so they merge into it by id
    connection.release(starts, backlog)


def _handle(hub: Hub, connection: Connection, session: Session, message: protocol.ClientMessage, endpoint: str) -> None:
    """Answer one client message after authentication."""
    if message.kind == "ping":
        connection.reply(protocol.control("pong", {}))
    elif message.kind == "auth":  # a fresh token for the same user extends the session
        try:
            user, expires_at = authenticate(message.token)
        except ApiError as exc:
            connection.reply(protocol.error(exc.code, exc.message, field="token"))
            return
        finally:
            db.session.remove()
        if user != session.user:
            connection.reply(
                protocol.error("forbidden", "a token for another user needs a new connection", field="token")
            )
            return
        session.expires_at = expires_at
        connection.reply(protocol.control("authenticated", {"expires_at": expires_at}))
    elif endpoint != "any":
        connection.reply(
            protocol.error("bad_request", "this endpoint follows fixed channels; use /ws to choose", field="type")
        )
    elif message.kind == "subscribe":
        _subscribe(hub, connection, session, [message])
    else:
        connection.forget(message.channel)
        hub.remove(connection, message.channel)
        connection.reply(protocol.control("unsubscribed", {"channels": connection.channels}, message.channel))


def _parse_burst(connection: Connection, budget: MessageBudget, frames: list[str]) -> list[protocol.ClientMessage]:
    """Parse frames read together; a bad field is answered and skipped, a bad frame ends the socket."""
    messages = []
    for raw in frames:
        if not budget.take():
            raise Refused(
                CLOSE_TOO_MANY_MESSAGES,
                protocol.error("too_many_messages", f"at most {MESSAGES_PER_SECOND:g} messages a second"),
            )
        try:
            messages += protocol.each_channel(protocol.parse_client_message(raw))
        except protocol.ProtocolError as exc:
            if exc.fatal:
                raise Refused(CLOSE_BAD_REQUEST, exc.as_error()) from exc
            connection.reply(exc.as_error())  # a well-formed message with a bad field: the socket stays
    return messages


def _answer(
    hub: Hub, connection: Connection, session: Session, messages: list[protocol.ClientMessage], endpoint: str
) -> None:
    """Answer messages in order; consecutive subscribes are followed together (one Redis round trip)."""
    subscribes: list[protocol.ClientMessage] = []
    for message in messages:
        if message.kind == "subscribe" and endpoint == "any":
            subscribes.append(message)
            continue
        _subscribe(hub, connection, session, subscribes)
        subscribes = []
        _handle(hub, connection, session, message, endpoint)
    _subscribe(hub, connection, session, subscribes)


def _subscribe(hub: Hub, connection: Connection, session: Session, requests: list[protocol.ClientMessage]) -> None:
    """Authorize each requested channel (refusals answered one by one), then follow the allowed ones."""
    allowed: list[str] = []
    resume: dict[str, str] = {}
    repeated = False
    for message in requests:
        if message.channel in connection.channels or message.channel in allowed:
            repeated = True
            continue
        if len(connection.channels) + len(allowed) >= MAX_CHANNELS:
            connection.reply(
                protocol.error("too_many_channels", f"at most {MAX_CHANNELS} channels per connection", message.channel)
            )
            continue
        try:
            authorize_channel(session.user, message.channel)
        except ApiError as exc:
            connection.reply(protocol.error(exc.code, exc.message, message.channel, field="channel"))
            continue
        finally:
            db.session.remove()
        allowed.append(message.channel)
        if message.last_id:
            resume[message.channel] = message.last_id
    if repeated and not allowed:
        connection.reply(protocol.control("subscribed", {"channels": connection.channels}))
    elif allowed:
        _follow(hub, connection, allowed, resume)


def _channels_for(endpoint: str, user: Principal, educator: str | None, taught: list[Any] | None = None) -> list[str]:
    if endpoint == "any":
        return []
    try:
        return educator_channels(user, educator) if endpoint == "performance" else own_channels(user, taught)
    except ApiError as exc:
        raise Refused(CLOSE_NOT_FOUND, protocol.error(exc.code, exc.message)) from exc


def _channels_read_database(endpoint: str, user: Principal) -> bool:
    """Whether finding this endpoint's channels reads the database: an educator's sections, an educator's classes."""
    return endpoint == "performance" or (endpoint != "any" and user.role == "educator")


def _open(hub: Hub, connection: Connection, session: Session, endpoint: str, educator: str | None) -> None:
    """Follow the endpoint's own channels, a dashboard's initial data first. What the open reads needs no
    transaction (see read_without_transaction): no BEGIN, and giving the connection back sends no ROLLBACK.
    The connection is taken just before the first read, never held across a wait for Redis it did not hold
    across before."""
    if _channels_read_database(endpoint, session.user):
        read_without_transaction()
    own_dashboard = endpoint == "dashboard" and session.user.role == "educator"
    taught = taught_section_rows(session.user.id) if own_dashboard else None  # its channels and its initial data
    channels = _channels_for(endpoint, session.user, educator, taught)

    def initial() -> None:
        read_without_transaction()  # nothing if the channels' read already began the session
        data = dashboard_initial_data(session.user, session.id, taught)
        connection.reply(control_text("dashboard_initial_data", spliced_dumps(data)))  # = protocol.control(..., data)

    try:
        _follow(hub, connection, channels, session.last_id, initial if endpoint == "dashboard" else None)
    except protocol.ProtocolError as exc:
        raise Refused(CLOSE_BAD_REQUEST, exc.as_error()) from exc


def serve(ws: Any, endpoint: str, types: frozenset[str] | None, educator: str | None = None) -> None:
    """Run one socket until the client leaves, is dropped, or its token expires."""
    ws.sock = SerializedSocket(ws.sock)
    connection = Connection(ws, current_app.config["WS_QUEUE_SIZE"], types)
    connection.start()
    hub = process_hub(current_app.config["REDIS_URL"])
    hub.attach(connection)
    close: tuple[int, str] | None = None
    try:
        session = authenticate_socket(ws)
        connection.user_id = session.user.id
        _open(hub, connection, session, endpoint, educator)
        budget = MessageBudget()
        while not connection.dropped and not connection.closing:
            remaining = session.expires_at - time.time()
            if remaining <= 0:
                raise Refused(
                    CLOSE_UNAUTHORIZED, protocol.error("token_expired", "the token expired; reconnect with a new one")
                )
            raw = ws.receive(timeout=min(remaining, IDLE_RECEIVE_SECONDS))
            if raw is not None:
                _answer(hub, connection, session, _parse_burst(connection, budget, waiting_frames(ws, raw)), endpoint)
    except Refused as refusal:
        connection.reply(refusal.message)
        close = (refusal.code, "refused")
    except ConnectionClosed:
        pass
    except Exception:  # noqa: BLE001  (after the handshake an HTTP 500 would be written into the WebSocket stream)
        log.exception("WebSocket handler failed")
        connection.reply(protocol.error("internal", "the server failed; reconnect"))
        close = (CLOSE_INTERNAL, "internal error")
    finally:
        hub.detach(connection)
        db.session.remove()
        connection.close(*(close or ()))
