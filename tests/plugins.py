"""Decision-model plugins used by the tests (loaded by config as `tests.plugins:NAME`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import Any

FINISHED: list[str] = []


async def score(inputs: Mapping[str, Any]) -> dict[str, Any]:
    tier = inputs["params"].get("tier", "none")
    return {"score": {"gold": 90, "silver": 50}.get(tier, 10), "tier": tier}


async def sleeps_past_deadline(inputs: Mapping[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(2)
    FINISHED.append("async")
    return {"late": True}


SYNC_DONE = threading.Event()  # set when the sync sleeper's thread has finished


def sync_sleeps_past_deadline(inputs: Mapping[str, Any]) -> dict[str, Any]:
    time.sleep(0.5)
    FINISHED.append("sync")
    SYNC_DONE.set()
    return {"late": True}


def fails(inputs: Mapping[str, Any]) -> dict[str, Any]:
    raise RuntimeError("upstream said no")


def returns_unserializable(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"value": {1, 2, 3}}


def returns_list(inputs: Mapping[str, Any]) -> list[int]:
    return [1, 2]


NOT_CALLABLE = 42


async def logs_and_scores(inputs: Mapping[str, Any]) -> dict[str, Any]:
    from decision_models import log

    log(f"scoring tier {inputs['tier']}")
    return {"score": {"gold": 90}.get(inputs["tier"], 10)}


def page_views(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the PageViews DMN's JavaScript did, by hand (tests/dmn/page_views.xml)."""
    return {"mostViewedPage": "home", "page1name": "home"}


def orders_count(inputs: Mapping[str, Any]) -> int:
    """Stands in for an imported script input column (`guest.orders.length`)."""
    return 12


def doubled_age(inputs: Mapping[str, Any]) -> float:
    """Stands in for an imported FEEL expression (`Customer Age * 2`)."""
    return float(inputs.get("params", {}).get("Customer_Age") or 0) * 2
