"""gRPC's process-wide settings: environment variables its C core reads once, when it first starts.

:func:`apply` runs before any RocketMQ client or broker is made (the CLI, the benchmark's children, the tests);
child processes inherit the variables. Each is a default: a variable already set wins.
"""

from __future__ import annotations

import os

# gRPC's newer I/O layer (its "EventEngine") for client channels and servers costs more CPU per call here than
# the older one it replaces, and this bot makes a dozen small calls per request. Measured with
# benchmarks/grpc_floor.py (a grpc.aio echo, client and server in processes of their own, grpcio 1.85): 0.45 ms
# of CPU per call with it, 0.39 ms without; a 1,000-session burst through the whole pipeline used 1-13 % less
# CPU (four pairs of runs, the two settings taking turns). Turning the two experiments off is what selects the
# older layer, which grpcio still ships.
LEGACY_IO = "-event_engine_client,-event_engine_listener"


def apply() -> None:
    """Set gRPC's environment for this process and the ones it starts."""
    # gRPC's fork handlers: agent and broker processes are started by fork and exec (libuv under uvloop), and
    # with the handlers on, a child forked while the RocketMQ client was busy in gRPC crashed (SIGSEGV) before
    # its exec now and then: 3 of 40 loaded `tourguide ask` runs, none of 120 with them off. A child that execs
    # at once needs none of gRPC's state.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    # gRPC's C core logs at INFO to stderr (e.g. "skipping fork() handlers"): noise in the middle of a chat.
    # Errors still show; set GRPC_VERBOSITY=INFO (or DEBUG) to see the rest.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("GRPC_EXPERIMENTS", LEGACY_IO)
