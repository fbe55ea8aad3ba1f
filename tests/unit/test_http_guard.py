"""The HTTP ingress guards on their own: replay memory, JSON nesting, the shape Bolt relies on."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from adapters.http_guard import ReplayGuard, json_depth, json_object, slack_payload_ok


def test_a_signature_is_accepted_once_and_forgotten_once_it_could_no_longer_pass() -> None:
    now = [1000.0]
    guard = ReplayGuard(window_s=3600, clock=lambda: now[0])
    assert guard.first_use("1700000000000", "sig-a")
    assert not guard.first_use("1700000000000", "sig-a")  # the replay
    assert guard.first_use("1700000000001", "sig-b")
    now[0] += 2 * 3600 + 1  # both timestamps are now outside DingTalk's window: the check refuses them anyway
    assert guard.first_use("1700000007200", "sig-c")
    assert len(guard) == 1


def test_replay_memory_is_bounded() -> None:
    guard = ReplayGuard(window_s=3600, clock=lambda: 0.0, max_entries=100)
    for i in range(1000):
        assert guard.first_use(str(i), "s")
    assert len(guard) <= 100


def test_json_nesting_is_measured_outside_strings_and_limited() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": []}]}') == 4
    assert json_object(b'{"a": ' * 40 + b"1" + b"}" * 40) is None
    assert json_object(b"[" * 100_000 + b"]" * 100_000) is None  # no RecursionError, just refused
    assert json_object(b"\xff{}") is None and json_object(b"[]") is None
    assert json_object('{"text": {"content": "帮我"}}'.encode()) == {"text": {"content": "帮我"}}


def test_what_slack_sends_passes_and_what_breaks_bolt_does_not() -> None:
    event = {"type": "event_callback", "team_id": "T1", "event": {"type": "app_mention", "user": "U1", "text": "hi",
                                                                    "channel": "C1", "ts": "1.2"},
             "authorizations": [{"team_id": "T1", "is_bot": True}]}
    command = urlencode({"command": "/trip", "text": "<!channel> Kyoto", "user_id": "U1", "trigger_id": "1.2",
                         "channel_id": "C1"})
    action = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}, "team": None})})
    challenge = json.dumps({"type": "url_verification", "challenge": "abc", "token": "t"})
    assert slack_payload_ok(json.dumps(event).encode(), "application/json")
    assert slack_payload_ok(command.encode(), "application/x-www-form-urlencoded")
    assert slack_payload_ok(action.encode(), "application/x-www-form-urlencoded")
    assert slack_payload_ok(challenge.encode(), "application/json")
    assert not slack_payload_ok(urlencode({"command": "/trip", "text": "x"}).encode(), None)  # no trigger_id...
    for bad in (b"[]", b"null", b"{", json.dumps({**event, "event": "x"}).encode(),
                json.dumps({**event, "authorizations": [5]}).encode(), b"payload=%5B%5D", b"\xff\xfe",
                json.dumps({**event, "event": {"type": "message", "user": "U1"}}).encode()):
        assert not slack_payload_ok(bad, "application/json"), bad
