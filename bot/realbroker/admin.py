"""Run ``mqadmin`` command lines with RocketMQ's own admin CLI (``MQAdminStartup`` from rocketmq-tools)."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BrokerError

_BATCH = Path(__file__).with_name("AdminBatch.java")


@dataclass(frozen=True, slots=True)
class AdminResult:
    """One command line and what the admin CLI printed for it."""

    command: str
    output: str

    @property
    def ok(self) -> bool:
        """The CLI prints a stack trace (and no "success") when a command fails."""
        return "success" in self.output and "Exception" not in self.output


def _argv(line: str, namesrv: str) -> list[str]:
    args = shlex.split(line)
    if args and args[0] == "mqadmin":
        args = args[1:]
    return [*args, "-n", namesrv]


def run_one(lib: Path, namesrv: str, args: list[str], home: Path) -> int:
    """Run one mqadmin command in the foreground (output goes to the terminal); its exit code."""
    cmd = ["java", "-Xmx256m", f"-Duser.home={home}", "-cp", f"{lib}/*",
           "org.apache.rocketmq.tools.command.MQAdminStartup", *args, "-n", namesrv]
    return subprocess.run(cmd, env={**os.environ, "ROCKETMQ_HOME": str(home)}, check=False).returncode


def run_batch(lib: Path, namesrv: str, lines: list[str], home: Path, timeout_s: float = 180.0) -> list[AdminResult]:
    """Run mqadmin command lines (as printed by ``tourguide topics mqadmin``) in one JVM.

    Raises BrokerError when any command failed, with that command's output.
    """
    stdin = "".join("\t".join(_argv(line, namesrv)) + "\n" for line in lines)
    done = subprocess.run(
        ["java", "-Xmx256m", f"-Duser.home={home}", "-cp", f"{lib}/*", str(_BATCH)],
        input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False,
        env={**os.environ, "ROCKETMQ_HOME": str(home)},
    )
    outs = done.stdout.split("@@done")
    errs = done.stderr.split("@@done")
    results = [AdminResult(line, outs[i] + (errs[i] if i < len(errs) else "")) for i, line in enumerate(lines)
               if i < len(outs)]
    failed = [r for r in results if not r.ok]
    if done.returncode != 0 or len(results) != len(lines) or failed:
        detail = failed[0].output if failed else done.stderr[-3000:]
        raise BrokerError(f"mqadmin failed: {failed[0].command if failed else 'batch'}\n{detail[-3000:]}")
    return results
