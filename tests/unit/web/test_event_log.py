"""The web page's per-browser event log: numbered, bounded by size, resumable only within one run."""

from __future__ import annotations

import asyncio

from ag_ui.core import CustomEvent

from adapters.web.events import EventLog, new_boot, resume_point


def test_the_log_keeps_the_newest_events_within_its_size_and_numbers_them_without_gaps() -> None:
    log = EventLog(new_boot(), limit_bytes=4096)
    for i in range(200):
        log.append(CustomEvent(name="n", value="x" * 100 + str(i)))
    kept = log.after(0)
    assert sum(len(f.data) for f in kept) <= 4096
    assert [f.seq for f in kept] == list(range(201 - len(kept), 201))
    assert kept[-1].sse().startswith(f"id: {log.boot}.200\n".encode())


def test_an_event_id_resumes_only_within_the_run_that_numbered_it() -> None:
    boot = new_boot()
    assert resume_point(f"{boot}.17", boot) == 17
    assert resume_point(f"{new_boot()}.17", boot) == 0  # an earlier run: the whole log
    assert resume_point(None, boot) == 0
    assert resume_point(f"{boot}.x", boot) == 0


async def test_a_reader_waits_for_the_next_event_and_times_out_without_one() -> None:
    log = EventLog(new_boot())
    assert await log.wait_after(0, 0.01) == []
    waiting = asyncio.create_task(log.wait_after(0, 5))
    await asyncio.sleep(0)  # the reader is parked on the log
    log.append(CustomEvent(name="n", value=1))
    assert [f.seq for f in await waiting] == [1]
