"""`tourguide bench pipeline` end to end: a small burst in rounds against the synchronous design, and the gRPC floor.

The figures themselves are the machine's; what is checked is that every session of every round was answered,
that each round of each design is reported, and that the floor and the comparison are computed from them.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from benchmarks.grpc_floor import cpu_per_call_ms
from tests.processes import clean_env

pytestmark = pytest.mark.slow


def test_a_burst_in_two_rounds_reports_each_round_the_median_the_comparison_and_the_floor() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "bench", "pipeline", "--sessions", "6", "--agent-latency", "0.1",
         "--agent-concurrency", "4", "--baseline", "sync", "--rounds", "2"],
        check=False, capture_output=True, text=True, timeout=280, env=clean_env())
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    rounds = re.findall(r"^round (\d) of 2: embedded broker [\d.]+ s, [\d.]+ CPU-s; synchronous HTTP design "
                        r"[\d.]+ s, [\d.]+ CPU-s$", out, re.MULTILINE)
    assert rounds == ["1", "2"], out
    assert re.findall(r"^  sessions lost       (\d+)", out, re.MULTILINE) == ["0", "0"], out
    # Counted at the broker: each session sends two tasks and two results; it subscribes and unsubscribes its
    # lite topic and acks four messages, but changes and acks made close together share a call.
    rpcs = re.search(r"^  RPCs at the broker per session: ([\d.]+) \((.*)\)$", out, re.MULTILINE)
    assert rpcs, out
    by_method = dict((m, float(n)) for m, n in (part.rsplit(" ", 1) for part in rpcs.group(2).split(", ")))
    assert by_method["SendMessage"] == 4.0
    assert 0.0 < by_method["AckMessage"] <= 4.0
    assert 0.0 < by_method["SyncLiteSubscription"] <= 2.0
    assert float(rpcs.group(1)) >= 4.0
    assert re.search(r"^ours against the synchronous design, per round: CPU per answered session [\d.]+x, [\d.]+x "
                     r"\(median [\d.]+x\); makespan [\d.]+x, [\d.]+x$", out, re.MULTILINE), out
    floor = re.search(r"^floor: a session needs at least 4 RPCs .* costs ([\d.]+) ms of CPU here, so a session "
                      r"cannot cost less than ([\d.]+) ms \(([\d.]+) CPU-seconds for 6\), ([\d.]+)x the synchronous "
                      r"design's ([\d.]+) ms per answered session", out, re.MULTILINE)
    assert floor, out
    per_call, per_session, whole = (float(floor.group(i)) for i in (1, 2, 3))
    assert per_call > 0
    assert per_session == pytest.approx(4 * per_call, abs=0.051)
    assert whole == pytest.approx(6 * per_session / 1000, abs=0.051)
    counted = re.search(r"^  the ([\d.]+) RPCs per session counted at the broker cost ([\d.]+) ms in gRPC alone$",
                        out, re.MULTILINE)
    assert counted, out
    assert float(counted.group(1)) == float(rpcs.group(1))
    assert float(counted.group(2)) == pytest.approx(float(counted.group(1)) * per_call, rel=0.02, abs=0.06)


def test_one_grpc_call_costs_some_cpu_and_not_absurdly_much() -> None:
    per_call_ms = cpu_per_call_ms(count=500)
    assert 0.005 < per_call_ms < 50
