"""Kubernetes label selectors (``metav1.LabelSelector``) with the API server's exact semantics.

The rules, as ``LabelSelectorAsSelector`` in k8s.io/apimachinery applies them:

- a ``None`` (nil) selector selects **nothing**; an empty selector (``{}``, or one whose
  ``matchLabels`` and ``matchExpressions`` are both empty) selects **everything**. Fields that are
  not pointers in the API (``NetworkPolicy.spec.podSelector``) are never nil: pass
  ``spec.get("podSelector") or {}`` for them;
- ``matchLabels`` and every ``matchExpressions`` requirement are ANDed;
- ``In``: the key is present and its value is listed; ``NotIn``: the key is absent **or** its
  value is not listed; ``Exists``: the key is present; ``DoesNotExist``: it is absent;
- a malformed selector is an error for the API, and selects nothing here: an unknown (or
  wrongly cased) operator, ``In``/``NotIn`` without values, ``Exists``/``DoesNotExist`` with
  values, a requirement without a key;
- unknown fields of the selector are ignored, as the API server prunes them.

Label values are strings in the API; manifests that carry YAML scalars (``version: 1``,
``enabled: true``) are compared by their string form (``"1"``, ``"true"``).

Examples
--------
>>> selector_matches({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "front"})
True
>>> selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn",
...                                         "values": ["db"]}]}, {"app": "web"})
True
>>> selector_matches({}, {}), selector_matches(None, {"app": "web"})
(True, False)
>>> import pandas as pd
>>> labels = pd.Series([{"app": "web"}, {"app": "db"}, {}])
>>> selector_mask({"matchLabels": {"app": "web"}}, labels).tolist()
[True, False, False]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    """One parsed requirement: ``key``, ``operator`` (one of :data:`OPERATORS`), ``values``."""

    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tell whether ``labels`` satisfy this requirement."""
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present  # DoesNotExist


def label_value(value: Any) -> str:
    """Return a label (or selector) value as the string the API would hold."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _normalized(labels: Mapping[str, Any] | None) -> dict[str, str]:
    if not labels:
        return {}
    if all(isinstance(v, str) for v in labels.values()):
        return dict(labels)
    return {str(k): label_value(v) for k, v in labels.items()}


def parse_selector(selector: Mapping[str, Any] | None) -> list[Requirement] | None:
    """Parse a selector into requirements: ``[]`` selects everything, ``None`` nothing.

    ``None`` is returned for a nil selector and for a malformed one (see the module docstring).
    """
    if selector is None or not isinstance(selector, Mapping):
        return None
    requirements: list[Requirement] = []
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        return None
    for key, value in match_labels.items():
        requirements.append(Requirement(str(key), "In", frozenset({label_value(value)})))
    for expr in expressions:
        if not isinstance(expr, Mapping):
            return None
        key, op = expr.get("key"), expr.get("operator")
        values = expr.get("values") or []
        if not key or op not in OPERATORS or not isinstance(values, list):
            return None
        if op in ("In", "NotIn") and not values:
            return None
        if op in ("Exists", "DoesNotExist") and values:
            return None
        requirements.append(Requirement(str(key), op, frozenset(label_value(v) for v in values)))
    return requirements


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, Any] | None) -> bool:
    """Tell whether ``selector`` selects an object carrying ``labels`` (Kubernetes semantics)."""
    requirements = parse_selector(selector)
    if requirements is None:
        return False
    normalized = _normalized(labels)
    return all(r.matches(normalized) for r in requirements)


def selects_everything(selector: Mapping[str, Any] | None) -> bool:
    """Tell whether a selector is empty (non-nil, well-formed), i.e. selects every object."""
    return parse_selector(selector) == []


def describe_selector(selector: Mapping[str, Any] | None) -> str:
    """Write the selector in ``kubectl``'s string form: ``app=web,tier in (a,b),!legacy``.

    An empty selector reads ``<all>``; a nil or malformed one ``<none>``.
    """
    requirements = parse_selector(selector)
    if requirements is None:
        return "<none>"
    if not requirements:
        return "<all>"
    match_labels = (selector or {}).get("matchLabels") or {}
    parts = []
    for i, r in enumerate(requirements):
        if i < len(match_labels):
            parts.append(f"{r.key}={next(iter(r.values))}")
        elif r.operator in ("In", "NotIn"):
            parts.append(f"{r.key} {r.operator.lower()} ({','.join(sorted(r.values))})")
        else:
            parts.append(r.key if r.operator == "Exists" else f"!{r.key}")
    return ",".join(parts)


class LabelIndex:
    """Label sets of many objects, indexed so that a selector is evaluated with array operations.

    Objects with identical labels share one entry (replicas of a workload), and every label key
    keeps the array of entries that carry it, so evaluating a selector costs time proportional
    to the entries carrying its keys, not to the number of objects. Build it once per frame and
    call :meth:`mask` for each selector (the NetworkPolicy engine evaluates thousands).

    >>> index = LabelIndex([{"app": "web"}, {"app": "web"}, {"app": "db", "tier": "data"}])
    >>> index.mask({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}).tolist()
    [False, False, True]
    """

    def __init__(self, labels: Iterable[Mapping[str, Any] | None]) -> None:
        ids: dict[frozenset[tuple[str, str]], int] = {}
        codes: list[int] = []
        key_ids: dict[str, list[int]] = {}
        key_values: dict[str, list[str]] = {}
        for row in labels:
            items = frozenset(_normalized(row if isinstance(row, Mapping) else None).items())
            code = ids.get(items)
            if code is None:
                code = ids[items] = len(ids)
                for k, v in items:
                    key_ids.setdefault(k, []).append(code)
                    key_values.setdefault(k, []).append(v)
            codes.append(code)
        self.codes = np.asarray(codes, dtype=np.int64)
        self.n_sets = len(ids)
        self._keys: dict[str, tuple[np.ndarray, pd.Series]] = {
            k: (np.asarray(key_ids[k], dtype=np.int64),
                pd.Series(key_values[k], dtype=object))
            for k in key_ids
        }
        self._empty = (np.zeros(0, dtype=np.int64), pd.Series([], dtype=object))

    def __len__(self) -> int:
        return len(self.codes)

    def _requirement_mask(self, req: Requirement) -> np.ndarray:
        ids, values = self._keys.get(req.key, self._empty)
        if req.operator in ("Exists", "DoesNotExist"):
            has = np.zeros(self.n_sets, dtype=bool)
            has[ids] = True
            return has if req.operator == "Exists" else ~has
        listed = ids[values.isin(req.values).to_numpy()]
        if req.operator == "In":
            mask = np.zeros(self.n_sets, dtype=bool)
            mask[listed] = True
        else:  # NotIn: absent, or present with a value not listed
            mask = np.ones(self.n_sets, dtype=bool)
            mask[listed] = False
        return mask

    def mask(self, selector: Mapping[str, Any] | None) -> np.ndarray:
        """Return a boolean array, one entry per indexed object: does ``selector`` select it."""
        requirements = parse_selector(selector)
        if requirements is None:
            return np.zeros(len(self.codes), dtype=bool)
        selected = np.ones(self.n_sets, dtype=bool)
        for req in requirements:
            selected &= self._requirement_mask(req)
        return selected[self.codes]


def selector_mask(selector: Mapping[str, Any] | None,
                  labels: pd.Series | pd.DataFrame | LabelIndex) -> pd.Series | np.ndarray:
    """Tell which objects ``selector`` selects.

    ``labels`` is a Series of label dicts, a frame with a ``labels`` column (both give a boolean
    Series on their index), or a prebuilt :class:`LabelIndex` (gives a boolean array).
    """
    if isinstance(labels, LabelIndex):
        return labels.mask(selector)
    series = labels["labels"] if isinstance(labels, pd.DataFrame) else labels
    return pd.Series(LabelIndex(series).mask(selector), index=series.index, dtype=bool)
