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
        capture_output=True, text=True, timeout=280, env=clean_env())
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    rounds = re.findall(r"^round (\d) of 2: embedded broker [\d.]+ s, [\d.]+ CPU-s; synchronous HTTP design "
                        r"[\d.]+ s, [\d.]+ CPU-s$", out, re.MULTILINE)
    assert rounds == ["1", "2"], out
    assert re.findall(r"^  sessions lost       (\d+)", out, re.MULTILINE) == ["0", "0"], out
    assert re.search(r"^ours against the synchronous design, per round: CPU [\d.]+x, [\d.]+x \(median [\d.]+x\); "
                     r"makespan [\d.]+x, [\d.]+x$", out, re.MULTILINE), out
    floor = re.search(r"^floor: a session needs at least 10 RPCs .* costs ([\d.]+) ms of CPU here, so 6 sessions "
                      r"cannot cost less than ([\d.]+) CPU-seconds \(([\d.]+)x the synchronous", out, re.MULTILINE)
    assert floor, out
    assert float(floor.group(1)) > 0
    assert float(floor.group(2)) == pytest.approx(6 * 10 * float(floor.group(1)) / 1000, abs=0.051)


def test_one_grpc_call_costs_some_cpu_and_not_absurdly_much() -> None:
    per_call_ms = cpu_per_call_ms(count=500)
    assert 0.005 < per_call_ms < 50
