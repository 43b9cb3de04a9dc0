"""Wait for a condition instead of sleeping a guessed time: tests run on two shared
cores, where any fixed pause is sometimes too short."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    what: str = "condition",
    timeout: float = 30.0,
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    detail: Callable[[], Any] | None = None,
) -> T:
    """Poll `condition()` until it returns something true, and return that. The timeout
    is a guard against a hang, never a measurement: past it an AssertionError names
    `what` and adds `detail()` (a log tail, a screenshot's path). Exceptions in
    `ignoring` count as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except ignoring:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            message = f"{what}: not within {timeout:.0f} s"
            raise AssertionError(message if detail is None else f"{message}\n{detail()}")
        time.sleep(interval)
