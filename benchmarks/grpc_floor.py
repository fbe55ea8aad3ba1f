"""What one gRPC call costs on this machine with nothing else in it: the floor under every RocketMQ RPC.

A grpc.aio echo server and a grpc.aio client, each in a child process of its own and on the event loop the
product uses, 200-byte requests, 64 calls in flight. The CPU of both processes over the calls, divided by the
calls, is what any design pays per RPC before protobuf messages, signing, persistence or its own logic:
``tourguide bench pipeline`` multiplies it by the RPCs a session cannot do without.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import grpc
import psutil

from benchmarks.broker import free_port
from bot import grpc_env
from bot.loop import run as run_loop

METHOD = "/tourguide.bench.Echo/Echo"
IN_FLIGHT = 64
BODY = b"x" * 200


async def _echo(request: bytes, context: object) -> bytes:
    return request


async def _serve(port: int) -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "tourguide.bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)})
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
    await server.stop(0)


async def _calls(port: int, count: int) -> float:
    """Client CPU-seconds of ``count`` calls, after a warm-up."""
    me = psutil.Process()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        for _ in range(IN_FLIGHT):
            await echo(BODY)
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            async with slots:
                await echo(BODY)

        before = _cpu_s(me)
        await asyncio.gather(*(one() for _ in range(count)))
        return _cpu_s(me) - before


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _client(port: int, count: int) -> None:
    print(f"{await _calls(port, count):.6f}", flush=True)


def cpu_per_call_ms(count: int = 5000) -> float:
    """Milliseconds of CPU (client and server together) per unary gRPC call on 127.0.0.1.

    Client and server each run in a child process of their own, so nothing else is counted.
    """
    grpc_env.apply()  # the children get the gRPC settings of the processes this is the floor of
    port = free_port()
    me = [sys.executable, "-m", "benchmarks.grpc_floor"]
    with subprocess.Popen([*me, "serve", str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as server:
        assert server.stdout is not None and server.stdin is not None
        try:
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("the gRPC echo server did not start")
            child = psutil.Process(server.pid)
            server_before = _cpu_s(child)
            client = subprocess.run([*me, "call", str(port), str(count)], capture_output=True, text=True,
                                    check=True, timeout=300)
            server_cpu = _cpu_s(child) - server_before
        finally:
            server.stdin.close()
            server.wait(10)
    client_cpu = float(client.stdout.strip().splitlines()[-1])
    return (client_cpu + server_cpu) / count * 1000


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        run_loop(_serve(int(sys.argv[2])))
    else:
        run_loop(_client(int(sys.argv[2]), int(sys.argv[3])))
