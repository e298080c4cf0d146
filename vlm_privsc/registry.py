"""String-keyed registries of stage backends (CompressAI-style).

Each stage keeps one :class:`Registry`; a backend class registers itself with
``@REGISTRY.register("name")`` and configs (database YAML, pipeline presets) name it
by that string, so a preset can swap any backend without code changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from vlm_privsc.errors import UnknownNameError

T = TypeVar("T")

_ALL: list[Registry[Any]] = []
"""Every registry made so far (one per stage), for :func:`external_entries`."""

PluginEntry = tuple[str, str, Callable[..., Any]]
"""``(registry kind, backend name, factory)`` of a backend registered from outside the package."""


class Registry(Generic[T]):
    """A mapping from backend names to factories (classes or functions)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Callable[..., T]] = {}
        _ALL.append(self)

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register ``factory`` under ``name`` (names are unique)."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = factory
            return factory

        return deco

    def get(self, name: str) -> Callable[..., T]:
        """The factory for ``name``; an unknown name lists the valid ones."""
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(sorted(self._items)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def build(self, name: str, **kwargs: Any) -> T:
        """Instantiate backend ``name`` with keyword parameters from a config."""
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def external_entries() -> list[PluginEntry]:
    """Backends registered by code outside ``vlm_privsc`` (a user's plugin module, a test's
    fake detector), so that worker processes (a process pool, Ray actors) can register the
    same ones: the factories pickle by reference to their modules."""
    return [(r.kind, name, f) for r in _ALL for name, f in r._items.items()
            if not str(getattr(f, "__module__", "") or "").startswith("vlm_privsc")]


def restore_entries(entries: list[PluginEntry]) -> None:
    """Register in this process the ``entries`` of :func:`external_entries` that are missing
    (call it after importing the pipeline, which makes every stage's registry)."""
    by_kind = {r.kind: r for r in _ALL}
    for kind, name, factory in entries:
        reg = by_kind.get(kind)
        if reg is not None and name not in reg:
            reg.register(name)(factory)
