"""Start and stop a one-node Apache RocketMQ 5.5 (NameServer, Broker, gRPC Proxy) on loopback.

Three JVMs, not ``mqbroker --enable-proxy``: in 5.5.0 the proxy's local mode has no lite-subscription
service (``ServiceManager.getLiteSubscriptionService()`` is null there), so LiteTopic needs cluster mode.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.errors import BrokerError
from bot.realbroker.maven import DEFAULT_VERSION, resolve

CLUSTER_NAME = "DefaultCluster"
_JDK_OPENS = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
)

# What the project needs from the broker, and why (the README repeats this table):
BROKER_SETTINGS: dict[str, str] = {
    # Resources are declared in bot/resources.py and created with mqadmin, never by a typo in a client.
    "autoCreateTopicEnable": "false",
    "autoCreateSubscriptionGroup": "false",
    # LiteTopic (RIP-83) is built on light message queues and multi-dispatch into them.
    "enableLmq": "true",
    "enableMultiDispatch": "true",
    # Small files and relaxed disk guards: a test broker on a shared disk must not refuse writes at 75 %.
    "mappedFileSizeCommitLog": str(64 * 1024 * 1024),
    "diskMaxUsedSpaceRatio": "98",
    "diskSpaceWarningLevelRatio": "0.99",
    "diskSpaceCleanForciblyRatio": "0.98",
    # The default 200 ms wait in the send queue sheds a 256-message burst on 2 cores with 42900 "broker
    # busy"; a burst should be buffered, which is what the project relies on the broker for.
    "waitTimeMillsInSendQueue": "1000",
}


@dataclass(frozen=True, slots=True)
class Ports:
    """Loopback ports of one cluster; the broker also binds ``broker - 2`` (fast) and ``broker + 1`` (HA)."""

    namesrv: int
    broker: int
    grpc: int
    proxy_remoting: int


@dataclass(slots=True)
class ClusterState:
    """What ``start`` leaves in ``<workdir>/cluster.json`` so that ``stop``/``status`` find the JVMs."""

    version: str
    workdir: str
    ports: Ports
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """The gRPC endpoint the official client uses."""
        return f"127.0.0.1:{self.ports.grpc}"

    @property
    def namesrv(self) -> str:
        """The NameServer address for mqadmin."""
        return f"127.0.0.1:{self.ports.namesrv}"

    @property
    def log_dir(self) -> Path:
        """Where RocketMQ writes its logs (``user.home`` points into the workdir)."""
        return Path(self.workdir) / "logs" / "rocketmqlogs"

    def save(self) -> None:
        """Write the state file."""
        (Path(self.workdir) / "cluster.json").write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, workdir: Path) -> ClusterState:
        """Read the state file; raises BrokerError when no cluster was started there."""
        path = workdir / "cluster.json"
        if not path.exists():
            raise BrokerError(f"no Apache RocketMQ was started in {workdir}")
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["version"], raw["workdir"], Ports(**raw["ports"]), raw["pids"])


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_ports() -> Ports:
    """Ports that are free now; the broker's three are picked together."""
    rng = random.Random()
    picked: set[int] = set()

    def take(span: tuple[int, ...]) -> int:
        for _ in range(500):
            base = rng.randrange(20_000, 50_000)
            wanted = [base + d for d in span]
            if not picked.intersection(wanted) and all(_bindable(p) for p in wanted):
                picked.update(wanted)
                return base
        raise BrokerError("no free loopback ports for Apache RocketMQ")

    return Ports(namesrv=take((0,)), broker=take((-2, 0, 1)), grpc=take((0,)), proxy_remoting=take((0,)))


def _answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class ApacheRocketMQ:
    """One NameServer, one Broker and one Proxy, started from the jars that ``maven.resolve`` fetched."""

    def __init__(self, workdir: Path, version: str = DEFAULT_VERSION, heap_mb: int = 512,
                 admin: tuple[str, str] | None = None) -> None:
        """``admin`` (access key, secret key) turns on ACL 2.0 authentication with that super user."""
        self.workdir = workdir.resolve()
        self.version = version
        self.heap_mb = heap_mb
        self.admin = admin
        self.state: ClusterState | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self, ports: Ports | None = None, timeout_s: float = 120.0) -> ClusterState:
        """Start all three JVMs and wait until the gRPC proxy answers; raises BrokerError naming the logs."""
        lib = resolve(self.version)
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = ClusterState(self.version, str(self.workdir), ports or free_ports())
        self.state = state
        deadline = time.monotonic() + timeout_s
        self._write_configs(state)
        try:
            state.pids["namesrv"] = self._spawn(lib, "namesrv", 256,
                                                ["org.apache.rocketmq.namesrv.NamesrvStartup",
                                                 "-c", "namesrv.properties"])
            self._wait(lambda: _answers(state.ports.namesrv), "namesrv", deadline)
            self.start_broker(deadline)
        except BaseException:
            self.stop()
            raise
        state.save()
        return state

    def start_broker(self, deadline: float | None = None) -> None:
        """(Re)start the Broker and the Proxy on the same ports and store, e.g. after ``stop_broker``."""
        state = self._state()
        lib = resolve(self.version)
        deadline = deadline or time.monotonic() + 120.0
        state.pids["broker"] = self._spawn(lib, "broker", self.heap_mb,
                                           ["org.apache.rocketmq.broker.BrokerStartup", "-c", "broker.conf"])
        self._wait(lambda: "boot success" in self._out("broker"), "broker", deadline)
        # The broker registers with the NameServer a moment after "boot success"; a proxy started before
        # that exits ("create system broadcast topic ... failed"), so it is started again until it stays up.
        while True:
            state.pids["proxy"] = self._spawn(lib, "proxy", 256,
                                              ["org.apache.rocketmq.proxy.ProxyStartup", "-pm", "cluster",
                                               "-pc", "rmq-proxy.json", "-n", state.namesrv])
            try:
                self._wait(lambda: "startup successfully" in self._out("proxy") and _answers(state.ports.grpc),
                           "proxy", deadline)
                break
            except BrokerError:
                if time.monotonic() >= deadline or "create system broadcast topic" not in self._out("proxy"):
                    raise
                time.sleep(1.0)
        state.save()

    def stop_broker(self, kill: bool = False) -> None:
        """Stop the Proxy and the Broker (SIGTERM, or SIGKILL with ``kill``), leaving the NameServer up."""
        state = self._state()
        for role in ("proxy", "broker"):
            _terminate(state.pids.pop(role, 0), kill)
        state.save()

    def stop(self) -> None:
        """Stop every JVM of this cluster: SIGTERM, then SIGKILL after 20 s."""
        if self.state is None or not self.state.pids:
            return
        for role in ("proxy", "broker", "namesrv"):
            _terminate(self.state.pids.pop(role, 0), kill=False)
        if Path(self.state.workdir).exists():
            self.state.save()

    def __enter__(self) -> ClusterState:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- details ---------------------------------------------------------------------------------------
    def _state(self) -> ClusterState:
        if self.state is None:
            self.state = ClusterState.load(self.workdir)
        return self.state

    def _write_configs(self, state: ClusterState) -> None:
        store = self.workdir / "store"
        (self.workdir / "namesrv.properties").write_text(f"listenPort={state.ports.namesrv}\n", encoding="utf-8")
        broker: dict[str, object] = {
            "brokerClusterName": CLUSTER_NAME, "brokerName": "broker-a", "brokerId": "0",
            "brokerIP1": "127.0.0.1", "listenPort": str(state.ports.broker), "namesrvAddr": state.namesrv,
            "storePathRootDir": str(store), "storePathCommitLog": str(store / "commitlog"),
            **BROKER_SETTINGS,
        }
        proxy: dict[str, object] = {"rocketMQClusterName": CLUSTER_NAME, "grpcServerPort": state.ports.grpc,
                                    "remotingListenPort": state.ports.proxy_remoting, "namesrvAddr": state.namesrv}
        if self.admin:
            broker_auth, proxy_auth = self._auth_settings(*self.admin)
            broker.update(broker_auth)
            proxy.update(proxy_auth)
        (self.workdir / "broker.conf").write_text("".join(f"{k}={v}\n" for k, v in broker.items()), encoding="utf-8")
        (self.workdir / "rmq-proxy.json").write_text(json.dumps(proxy), encoding="utf-8")

    def _auth_settings(self, access_key: str, secret_key: str) -> tuple[dict[str, object], dict[str, object]]:
        """ACL 2.0: the broker keeps the users, the proxy asks it; mqadmin signs with conf/tools.yml."""
        credentials = json.dumps({"accessKey": access_key, "secretKey": secret_key})
        provider = "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider"
        common = {"authenticationEnabled": "true", "authenticationProvider": provider,
                  "innerClientAuthenticationCredentials": credentials}
        user = json.dumps({"username": access_key, "password": secret_key})
        broker: dict[str, object] = {
            **common, "initAuthenticationUser": user,
            "authenticationMetadataProvider":
                "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
        }
        proxy = {**common, "authenticationEnabled": True, "enableAclRpcHookForClusterMode": True,
                 "authenticationMetadataProvider": "org.apache.rocketmq.proxy.auth.ProxyAuthenticationMetadataProvider"}
        (self.workdir / "conf").mkdir(exist_ok=True)
        (self.workdir / "conf" / "tools.yml").write_text(
            f"accessKey: {json.dumps(access_key)}\nsecretKey: {json.dumps(secret_key)}\n", encoding="utf-8")
        return broker, proxy

    def _spawn(self, lib: Path, role: str, heap_mb: int, main: list[str]) -> int:
        out = (self.workdir / f"{role}.out").open("w", encoding="utf-8")
        env = {**os.environ, "ROCKETMQ_HOME": str(self.workdir)}
        cmd = ["java", f"-Xms{min(heap_mb, 128)}m", f"-Xmx{heap_mb}m", *_JDK_OPENS,
               f"-Duser.home={self.workdir}", "-cp", f"{lib}/*", *main]
        with out:
            proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        return proc.pid

    def _out(self, role: str) -> str:
        path = self.workdir / f"{role}.out"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def _wait(self, ready: object, role: str, deadline: float) -> None:
        check = ready if callable(ready) else (lambda: False)
        pid = self._state().pids[role]
        while time.monotonic() < deadline:
            if check():
                return
            if not alive(pid):
                break
            time.sleep(0.2)
        raise BrokerError(
            f"Apache RocketMQ {role} did not start; see {self.workdir / (role + '.out')} "
            f"and the logs in {self._state().log_dir}:\n{self._out(role)[-2000:]}"
        )


def alive(pid: int) -> bool:
    """Whether a process of ours (or anyone's) with this pid still runs."""
    try:
        waited, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child (started by another command): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return waited == 0


def _terminate(pid: int, kill: bool) -> None:
    if not pid or not alive(pid):
        return
    os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.05)
