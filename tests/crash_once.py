"""``python -m tests.crash_once agent KIND``: a process that dies of SIGSEGV on its first start(s), then is
``tourguide agent KIND``; stands in for a native crash while an agent starts.

``TOURGUIDE_TEST_CRASHES`` names a file holding how many starts are still to crash.
"""

from __future__ import annotations

import os
import runpy
import signal
from pathlib import Path

counter = Path(os.environ["TOURGUIDE_TEST_CRASHES"])
left = int(counter.read_text())
if left > 0:
    counter.write_text(str(left - 1))
    os.kill(os.getpid(), signal.SIGSEGV)
runpy.run_module("bot", run_name="__main__", alter_sys=True)
