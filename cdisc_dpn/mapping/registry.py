"""The fixed list of mapping algorithms a spec may name, with their parameter contracts.

Specs name algorithms; they never carry code. An algorithm is a plain function registered
under a name with the parameters it requires and accepts, and the phase it runs in:
"row" (computes from the source rows and earlier variables) or "dataset" (runs after all
rows and derived records exist, e.g. --SEQ, baseline flags).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

ROW = "row"
DATASET = "dataset"


@dataclass(frozen=True)
class Algorithm:
    name: str
    function: Callable
    required: frozenset[str]
    optional: frozenset[str]
    phase: str
    summary: str
    kind: str = "variable"   # variable | records | source
    reads: str | None = None  # dataset read when params give no `dataset:` (ordering dependency)
    defaults: tuple = ()      # (param, value) pairs applied when the spec omits them

    def with_defaults(self, params) -> dict:
        merged = dict(self.defaults)
        merged.update(params or {})
        return merged

    def datasets_read(self, params) -> set[str]:
        """Finished datasets this call needs (any `dataset:` in its params, else `reads`); built first."""
        found: set[str] = set()

        def scan(node) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "dataset" and isinstance(value, str):
                        found.add(value.upper())
                    else:
                        scan(value)
            elif isinstance(node, list):
                for item in node:
                    scan(item)

        scan(dict(params))
        if not found and self.reads:
            found.add(self.reads)
        return found


_REGISTRY: dict[str, Algorithm] = {}


def register(name: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = (), phase: str = ROW,
             kind: str = "variable", reads: str | None = None, defaults: dict | None = None) -> Callable[[Callable], Callable]:
    """Decorator adding a function to the registry; its docstring's first line is its summary."""

    def wrap(function: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"algorithm {name!r} registered twice")
        summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        _REGISTRY[name] = Algorithm(name, function, frozenset(required), frozenset(optional) | {"dataset"} if reads else frozenset(optional),
                                    phase, summary, kind, reads, tuple(sorted((defaults or {}).items())))
        return function

    return wrap


def _ensure_loaded() -> None:
    # Importing the modules registers their algorithms (explicit, not at package import).
    from cdisc_dpn.mapping import algorithms  # noqa: F401
    from cdisc_dpn.derive import algorithms as derive_algorithms  # noqa: F401


def get_algorithm(name: str) -> Algorithm | None:
    _ensure_loaded()
    return _REGISTRY.get(name)


def known_algorithms(kind: str | None = None) -> dict[str, Algorithm]:
    _ensure_loaded()
    return {k: v for k, v in sorted(_REGISTRY.items()) if kind is None or v.kind == kind}
