"""``python -m benchmarks agent KIND``: a worker agent whose steps take simulated model time;
``python -m benchmarks serve KIND SECONDS K``: the same agent as an HTTP service (the sync baseline).

The pipeline benchmark runs these instead of ``tourguide agent KIND``, so the product's agents carry
no benchmark knob. The seconds per step come from ``TOURGUIDE_BENCH_AGENT_LATENCY``, read only here;
everything else (endpoint, concurrency) is the product's settings.
"""

from __future__ import annotations

import os
import sys

from benchmarks.latency import LATENCY_ENV, simulated_model_time
from bot import loop
from bot.logs import configure
from bot.runtime import AgentKind, agent, broker_endpoint, bus_config
from bot.settings import load_settings
from bot.signals import wait_for_stop_signal

USAGE = "usage: python -m benchmarks agent weather|travel | serve weather|travel SECONDS CONCURRENCY"


async def _agent(kind: AgentKind, latency_s: float) -> None:
    settings = load_settings()
    async with (
        broker_endpoint(settings) as endpoint,
        agent(kind, settings, bus_config(settings, endpoint), wrap=simulated_model_time(latency_s)),
    ):
        print("ready", flush=True)
        await wait_for_stop_signal()


def main(argv: list[str]) -> None:
    """Run one agent (or one HTTP service) until SIGTERM / SIGINT."""
    shape = (argv[0], len(argv)) if argv else ("", 0)
    if shape not in (("agent", 2), ("serve", 4)) or argv[1] not in ("weather", "travel"):
        sys.exit(USAGE)
    kind: AgentKind = "weather" if argv[1] == "weather" else "travel"
    configure("WARNING")
    if argv[0] == "serve":
        from benchmarks.sync_baseline import serve

        loop.run(serve(kind, float(argv[2]), int(argv[3])))
        return
    loop.run(_agent(kind, float(os.environ.get(LATENCY_ENV, "0"))))
    # As bot.cli does: leave without the interpreter's finalization, which gRPC's threads can crash and the
    # client's threads retrying against a gone broker would hold up.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
