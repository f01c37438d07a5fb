"""Frames: the snapshot normalized into pandas DataFrames, built once, lazily, and cached.

Each frame is registered by a builder function decorated with :func:`frame`, which names the
snapshot sources (coverage keys) it reads and its pandera schema (the data dictionary). A check
names the frames it ``requires``; the runner turns a frame whose sources were not collected into
``not_assessed`` for that check, so no check can pass because its data is missing.

Examples
--------
>>> from zt_toolkit.snapshot import Snapshot
>>> from zt_toolkit.frames import Frames
>>> frames = Frames(Snapshot.load("reports/demo-snapshot"))       # doctest: +SKIP
>>> frames.containers[["namespace", "name", "container", "privileged"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import pandera.pandas as pa

from zt_toolkit.snapshot import Snapshot, gc_paused

if TYPE_CHECKING:
    from zt_toolkit.config import EngagementConfig


@dataclass(frozen=True)
class FrameSpec:
    """How one frame is built and what it needs."""

    name: str
    build: Callable[[Frames], Any]
    sources: tuple[str, ...]
    any_source: bool
    schema: pa.DataFrameSchema | None
    description: str


FRAME_BUILDERS: dict[str, FrameSpec] = {}


def frame(
    name: str,
    *,
    sources: Iterable[str] = (),
    any_source: bool = False,
    schema: pa.DataFrameSchema | None = None,
) -> Callable[[Callable[[Frames], Any]], Callable[[Frames], Any]]:
    """Register a frame builder.

    ``sources`` are coverage keys (``k8s/pods``, ``aws/eks/describe_cluster``). With
    ``any_source`` the frame is usable when at least one of them was collected (workloads come
    from pods or from controller templates); otherwise every source must be collected.
    """

    def register(fn: Callable[[Frames], Any]) -> Callable[[Frames], Any]:
        if name in FRAME_BUILDERS:
            raise ValueError(f"frame {name!r} is registered twice")
        FRAME_BUILDERS[name] = FrameSpec(
            name, fn, tuple(sources), any_source, schema, (fn.__doc__ or "").strip()
        )
        return fn

    return register


class Frames:
    """Lazy, cached frames over one snapshot (and the engagement config that tunes them)."""

    def __init__(self, snapshot: Snapshot, config: EngagementConfig | None = None) -> None:
        from zt_toolkit.config import EngagementConfig

        self.snapshot = snapshot
        self.config = config or EngagementConfig()
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def get(self, name: str) -> Any:
        """Build (once) and return a frame by name."""
        if name not in self._cache:
            spec = spec_of(name)
            with gc_paused():
                value = spec.build(self)
            if spec.schema is not None:
                value = spec.schema.validate(value, lazy=True)
            self._cache[name] = value
        return self._cache[name]

    def gaps(self, names: Iterable[str]) -> list[str]:
        """Coverage problems that keep the named frames from being complete (``[]`` = none)."""
        problems: list[str] = []
        for name in names:
            spec = spec_of(name)
            if not spec.sources:
                continue
            bad = [k for k in spec.sources if not self.snapshot.coverage(k).ok]
            if spec.any_source and len(bad) < len(spec.sources):
                continue
            for key in bad:
                text = self.snapshot.coverage(key).describe(key)
                if text not in problems:
                    problems.append(text)
        return problems


def spec_of(name: str) -> FrameSpec:
    """The registered spec of a frame (KeyError names the unknown frame)."""
    _load_builders()
    try:
        return FRAME_BUILDERS[name]
    except KeyError:
        raise KeyError(f"no frame named {name!r}; known: {sorted(FRAME_BUILDERS)}") from None


_loaded = False


def _load_builders() -> None:
    """Import every module of this package once, so that their builders register."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty frame with typed columns (so that schemas and checks see the right dtypes)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def from_rows(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    """Build a frame from row dicts with declared column dtypes (missing keys become NA)."""
    if not rows:
        return empty_frame(columns)
    df = pd.DataFrame.from_records(rows, columns=list(columns))
    return df.astype({c: t for c, t in columns.items() if t != "object"})


def nullable_bool(value: Any) -> bool | None:
    """An API boolean: True/False when set, None (NA) when unset. Unset is not false."""
    return value if isinstance(value, bool) else None
