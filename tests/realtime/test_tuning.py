"""The hub process's settings: freeze what survives a full collection, rescan rarely."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clients.hub_client import HubClient, HubClosed
from realtime.tuning import SWITCH_INTERVAL_S, FreezeSurvivors, tune_process, untune
from tests.realtime.helpers import checkin
from tests.support import LiveServer, token, wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    gc.unfreeze()
    yield Clock()
    gc.unfreeze()


def test_survivors_of_a_full_collection_are_frozen_and_young_collections_freeze_nothing(
    clock: Clock,
) -> None:
    hook = FreezeSurvivors(rescan_interval_s=60.0, clock=clock)
    kept = [[n] for n in range(1000)]  # tracked, reachable: they survive
    gc.callbacks.append(hook)
    try:
        gc.collect(1)
        assert gc.get_freeze_count() == 0
        gc.collect(2)
        frozen = gc.get_freeze_count()
    finally:
        gc.callbacks.remove(hook)
    assert frozen >= len(kept)
    assert hook.frozen_after == 1 and hook.rescans == 0


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_after_the_interval_a_full_collection_hands_everything_back_and_frees_dead_cycles(
    clock: Clock,
) -> None:
    hook = FreezeSurvivors(rescan_interval_s=60.0, clock=clock)
    gc.callbacks.append(hook)
    try:
        node = Node()
        ref = weakref.ref(node)
        gc.collect()  # survives, so it is frozen
        del node
        gc.collect()
        kept_while_frozen = ref() is not None
        clock.now = 61.0
        gc.collect()  # the interval has passed: everything is handed back
        unfrozen = gc.get_freeze_count()
        gc.collect()  # walks everything once, then freezes the survivors again
    finally:
        gc.callbacks.remove(hook)
    assert kept_while_frozen
    assert unfrozen == 0
    assert ref() is None
    assert hook.rescans == 1


def _dead(ref: weakref.ref[Any]) -> Callable[[], bool]:
    return lambda: ref() is None


async def test_a_connection_that_ends_is_freed_without_the_collector(
    live_p1: LiveServer,
) -> None:
    # Frozen objects are never collected, so a closed connection must not sit in a cycle.
    runtime = live_p1.runtime
    gc.disable()
    try:
        for reason in ("client_close", "server_close"):
            client = await HubClient.connect(live_p1.ws_url, token("patient", "p1"))
            await client.publish([checkin(f"e-{reason}", "p1", "2026-11-20")])
            (connection,) = list(runtime.connections)
            ref = weakref.ref(connection)
            del connection
            if reason == "client_close":
                await client.close()
            else:
                await client.send_raw("x" * (runtime.settings.limits.max_frame_bytes + 1))  # 1009
                with contextlib.suppress(HubClosed, TimeoutError):
                    await client.next_message(timeout=5)
                await client.close()
            await asyncio.to_thread(wait_until, _dead(ref), 10.0, f"connection freed ({reason})")
    finally:
        gc.enable()


def test_tune_process_shortens_the_gil_switch_and_hooks_the_collector() -> None:
    previous = sys.getswitchinterval()
    hook = tune_process()
    try:
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S < previous
        assert hook in gc.callbacks
    finally:
        untune(hook)
        sys.setswitchinterval(previous)
    assert hook not in gc.callbacks
