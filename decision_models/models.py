"""The decision-model hook: what a variant runs before its template renders.

A decision model takes the request's inputs and returns named outputs; the template reads them as
`decisions.<model id>.<output>`. This module is the narrow interface the engine calls. Today a model is a
trusted Python function (a plugin); the decision-model issue adds graphs of tables, expressions and
connection nodes behind the same interface.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class DecisionModel(Protocol):
    """Anything the engine can run for a variant."""

    @property
    def id(self) -> str: ...

    async def evaluate(self, inputs: Mapping[str, Any]) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class PluginModel:
    """A trusted function `f(inputs) -> dict`, sync or async, installed by the operator.

    A sync function runs in a worker thread so the request's deadline still applies to it; the thread
    itself cannot be stopped, so a plugin that never returns keeps a thread busy.
    """

    id: str
    reference: str
    function: Callable[[Mapping[str, Any]], Any]

    async def evaluate(self, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        if inspect.iscoroutinefunction(self.function):
            result = await self.function(inputs)
        else:
            result = await asyncio.to_thread(self.function, inputs)
        if not isinstance(result, Mapping):
            raise TypeError(f"plugin {self.reference} returned {type(result).__name__}, not a mapping")
        return result
