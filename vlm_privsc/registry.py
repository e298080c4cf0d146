"""String-keyed registries of stage backends (CompressAI-style).

Each stage keeps one :class:`Registry`; configs (database YAML, pipeline presets) name a
backend by its string, so a preset can swap any backend without code changes. The
project's own backends are *lazy* entries, ``"name" -> "module:attr"``
(:mod:`vlm_privsc.backends`): a module is imported when its backend is first asked for,
so no import registers anything by side effect and a backend whose optional packages are
missing fails with one line when named, not when its stage is imported. Plugins and tests
add factories with ``@REGISTRY.register("name")``.

One contract for every backend: ``build(name, **params)`` (parameters checked against the
factory's signature first, then passed as given: a :class:`ConfigError` naming the backend and the parameter)
and ``availability(name, **params) -> (ok, why)`` (the factory's ``availability``
classmethod when it has one).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from vlm_privsc.errors import ConfigError, MissingWeightsError, UnknownNameError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_ALL: list[Registry[Any]] = []
"""Every registry made so far (one per stage), for :func:`external_entries`."""

PluginEntry = tuple[str, str, Callable[..., Any]]
"""``(registry kind, backend name, factory)`` of a backend registered from outside the package."""


class Registry(Generic[T]):
    """A mapping from backend names to factories (classes or functions)."""

    def __init__(self, kind: str, lazy: dict[str, str] | None = None) -> None:
        self.kind = kind
        self._items: dict[str, Callable[..., T]] = {}
        self._lazy: dict[str, str] = dict(lazy or {})
        """Entries not imported yet: name -> ``"module:attr"``."""
        _ALL.append(self)

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: register ``factory`` under ``name`` (names are unique). Factories are
        typed loosely (a backend class need not subclass its stage's Protocol); ``build``
        returns the stage type."""

        def deco(factory: F) -> F:
            if name in self._items or name in self._lazy:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = factory
            return factory

        return deco

    def get(self, name: str) -> Callable[..., T]:
        """The factory for ``name`` (a lazy entry is imported now); an unknown name lists
        the valid ones; a backend whose module cannot be imported (an optional package
        missing) is one :class:`~vlm_privsc.errors.MissingWeightsError` line."""
        if name in self._items:
            return self._items[name]
        target = self._lazy.get(name)
        if target is None:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names()) or '(none)'}")
        import importlib

        module, _, attr = target.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except ImportError as e:
            raise MissingWeightsError(
                f"{self.kind} {name!r} cannot be imported ({e}); install the optional packages "
                "with `pip install 'vlm-privsc[hub]'` (bash install.sh does)"
            ) from None
        self._items[name] = factory
        return factory

    def build(self, name: str, **kwargs: Any) -> T:
        """Instantiate backend ``name`` with keyword parameters from a config (checked first:
        :meth:`check_params`; the error names the backend and the parameter)."""
        try:
            self.check_params(name, kwargs)
        except UnknownNameError:
            raise
        except ConfigError as e:
            raise ConfigError(f"{self.kind} {name!r}: {e}") from None
        factory = self.get(name)
        if not _takes_var_keywords(factory):
            return factory(**kwargs)
        try:  # a factory that forwards **kwargs is checked by calling it
            return factory(**kwargs)
        except TypeError as e:
            raise ConfigError(f"{self.kind} {name!r}: bad parameters {sorted(kwargs)}: {e}") from None

    def availability(self, name: str, **params: Any) -> tuple[bool, str]:
        """Whether backend ``name`` can run here with ``params``, and if not, why (one line):
        its factory's ``availability(**params)`` when it has one, else ``(True, "")``."""
        try:
            factory = self.get(name)
        except MissingWeightsError as e:
            return False, str(e)
        check = getattr(factory, "availability", None)
        return check(**params) if check is not None else (True, "")

    def check_params(self, name: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """Check ``params`` against the keyword parameters of backend ``name``'s factory
        before anything is built: an unknown name, or a value of the wrong type, is a
        :class:`ConfigError` naming the parameter (the caller adds the file and line).
        Returns the values as the factory's annotations coerce them."""
        from pydantic import PydanticSchemaGenerationError, TypeAdapter, ValidationError

        factory = self.get(name)
        target = factory.__init__ if inspect.isclass(factory) else factory
        sig = inspect.signature(target)
        accepted = {
            n: p
            for n, p in sig.parameters.items()
            if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        if _takes_var_keywords(factory):
            return dict(params or {})
        try:
            hints = typing.get_type_hints(target)
        except Exception:  # unresolvable annotations: names are still checked
            hints = {}
        out: dict[str, Any] = {}
        for key, value in (params or {}).items():
            if key not in accepted:
                valid = ", ".join(accepted) or "(none)"
                raise ConfigError(f"{key}: unknown parameter of {self.kind} {name!r}; valid: {valid}")
            hint = hints.get(key)
            if hint is None:
                out[key] = value
                continue
            try:
                adapter = TypeAdapter(hint)
            except PydanticSchemaGenerationError:  # a type pydantic cannot check (a tensor, a generator)
                out[key] = value
                continue
            try:
                out[key] = adapter.validate_python(value, strict=False)
            except ValidationError as e:
                first = e.errors()[0]
                raise ConfigError(f"{key}: {first['msg']} (got {short_repr(value)})") from None
        return out

    def names(self) -> list[str]:
        return sorted({*self._items, *self._lazy})

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def _takes_var_keywords(factory: Callable[..., Any]) -> bool:
    target = factory.__init__ if inspect.isclass(factory) else factory
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(target).parameters.values())


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, so an error line stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " ...)"


def external_entries() -> list[PluginEntry]:
    """Backends registered by code outside ``vlm_privsc`` (a user's plugin module, a test's
    fake detector), so that worker processes (a process pool, Ray actors) can register the
    same ones: the factories pickle by reference to their modules."""
    return [
        (r.kind, name, f)
        for r in _ALL
        for name, f in r._items.items()
        if not str(getattr(f, "__module__", "") or "").startswith("vlm_privsc")
    ]


def restore_entries(entries: list[PluginEntry]) -> None:
    """Register in this process the ``entries`` of :func:`external_entries` that are missing
    (call it after importing the pipeline, which makes every stage's registry)."""
    by_kind = {r.kind: r for r in _ALL}
    for kind, name, factory in entries:
        reg = by_kind.get(kind)
        if reg is not None and name not in reg:
            reg.register(name)(factory)
