"""Resolve Apache RocketMQ's server jars from Maven Central into a reusable cache folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot.errors import BrokerError

# 5.5.1 is published, but its namesrv, proxy and tools jars were not served by the registry we can reach
# (only their poms), so 5.5.0, the first release with LiteTopic (RIP-83), is the default.
DEFAULT_VERSION = "5.5.0"
ARTIFACTS = ("rocketmq-namesrv", "rocketmq-broker", "rocketmq-proxy", "rocketmq-tools")

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tourguide.local</groupId>
  <artifactId>apache-rocketmq-runtime</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def cache_root() -> Path:
    """Where resolved versions live: ``$TOURGUIDE_ROCKETMQ_CACHE`` or ``~/.cache/tourguide/rocketmq``."""
    configured = os.environ.get("TOURGUIDE_ROCKETMQ_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "tourguide" / "rocketmq"


def _pom(version: str) -> str:
    deps = "\n".join(
        f"    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>{a}</artifactId>"
        f"<version>{version}</version></dependency>"
        for a in ARTIFACTS
    )
    return _POM.format(version=version, dependencies=deps)


def resolve(version: str = DEFAULT_VERSION, root: Path | None = None) -> Path:
    """The folder of jars for ``version``, downloaded with Maven on first use.

    Raises BrokerError when Java or Maven is missing or the download fails.
    """
    home = (root or cache_root()) / version
    lib = home / "lib"
    stamp = home / ".complete"
    if stamp.exists():
        return lib
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise BrokerError(f"{tool} is not on PATH: Apache RocketMQ needs Java 17 and Maven")
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(_pom(version), encoding="utf-8")
    done = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(home / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={lib}"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0 or not any(lib.glob("rocketmq-proxy-*.jar")):
        tail = (done.stdout + done.stderr)[-4000:]
        raise BrokerError(f"Maven could not resolve Apache RocketMQ {version}:\n{tail}")
    stamp.touch()
    return lib
