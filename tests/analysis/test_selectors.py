"""Label selector semantics, as k8s.io/apimachinery's LabelSelectorAsSelector applies them."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from zt_toolkit.analysis.selectors import (
    LabelIndex,
    describe_selector,
    parse_selector,
    selector_mask,
    selector_matches,
    selects_everything,
)

WEB = {"app": "web", "tier": "front"}


def expr(key, operator, values=None):
    e = {"key": key, "operator": operator}
    if values is not None:
        e["values"] = values
    return {"matchExpressions": [e]}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        # empty selects all, nil selects nothing
        ({}, {}, True),
        ({}, WEB, True),
        ({"matchLabels": {}, "matchExpressions": []}, WEB, True),
        ({"matchLabels": None}, WEB, True),
        (None, WEB, False),
        (None, {}, False),
        # matchLabels: every pair must be present with the value
        ({"matchLabels": {"app": "web"}}, WEB, True),
        ({"matchLabels": {"app": "web", "tier": "back"}}, WEB, False),
        ({"matchLabels": {"app": "web"}}, {}, False),
        ({"matchLabels": {"app": "web"}}, None, False),
        # In
        (expr("tier", "In", ["front", "back"]), WEB, True),
        (expr("tier", "In", ["back"]), WEB, False),
        (expr("tier", "In", ["front"]), {"app": "web"}, False),
        # NotIn: an absent key satisfies it
        (expr("tier", "NotIn", ["back"]), WEB, True),
        (expr("tier", "NotIn", ["front"]), WEB, False),
        (expr("tier", "NotIn", ["front"]), {"app": "web"}, True),
        # Exists / DoesNotExist
        (expr("tier", "Exists"), WEB, True),
        (expr("tier", "Exists"), {"app": "web"}, False),
        (expr("tier", "DoesNotExist"), WEB, False),
        (expr("tier", "DoesNotExist"), {"app": "web"}, True),
        (expr("tier", "Exists", []), WEB, True),
        # matchLabels AND matchExpressions
        ({"matchLabels": {"app": "web"}, **expr("tier", "In", ["back"])}, WEB, False),
        ({"matchLabels": {"app": "web"}, **expr("tier", "In", ["front"])}, WEB, True),
        # malformed selectors select nothing (the API rejects them)
        (expr("tier", "Equals", ["front"]), WEB, False),
        (expr("tier", "in", ["front"]), WEB, False),
        (expr("tier", "In", []), WEB, False),
        (expr("tier", "In"), WEB, False),
        (expr("tier", "NotIn", []), {"app": "web"}, False),
        (expr("tier", "Exists", ["front"]), WEB, False),
        (expr("tier", "DoesNotExist", ["x"]), {}, False),
        ({"matchExpressions": [{"operator": "Exists"}]}, WEB, False),
        ({"matchLabels": ["app", "web"]}, WEB, False),
        ({"matchExpressions": {"key": "app"}}, WEB, False),
        ("app=web", WEB, False),
        # unknown fields are pruned by the API server
        ({"matchLabels": {"app": "web"}, "somethingElse": 1}, WEB, True),
        # YAML scalars compare by their string form
        ({"matchLabels": {"version": 1}}, {"version": "1"}, True),
        ({"matchLabels": {"canary": True}}, {"canary": "true"}, True),
        ({"matchLabels": {"version": "1"}}, {"version": 1}, True),
    ],
)
def test_selector_matches(selector, labels, expected):
    assert selector_matches(selector, labels) is expected
    # the vectorized path agrees on the single row
    index = LabelIndex([labels])
    assert index.mask(selector).tolist() == [expected]


def test_selects_everything():
    assert selects_everything({})
    assert selects_everything({"matchLabels": {}})
    assert not selects_everything(None)
    assert not selects_everything({"matchLabels": {"a": "b"}})
    assert not selects_everything(expr("a", "Bogus", ["x"]))


def test_parse_selector_requirements():
    reqs = parse_selector({"matchLabels": {"app": "web"}, **expr("tier", "NotIn", ["db"])})
    assert [(r.key, r.operator, sorted(r.values)) for r in reqs] == [
        ("app", "In", ["web"]), ("tier", "NotIn", ["db"])]
    assert parse_selector({}) == []
    assert parse_selector(None) is None


def test_describe_selector():
    sel = {"matchLabels": {"app": "web"},
           "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                {"key": "legacy", "operator": "DoesNotExist"},
                                {"key": "team", "operator": "Exists"}]}
    assert describe_selector(sel) == "app=web,tier in (a,b),!legacy,team"
    assert describe_selector({}) == "<all>"
    assert describe_selector(None) == "<none>"


def test_selector_mask_on_series_and_frame():
    labels = pd.Series([WEB, {"app": "db"}, {}, None], index=[10, 11, 12, 13])
    mask = selector_mask(expr("app", "NotIn", ["db"]), labels)
    assert mask.tolist() == [True, False, True, True]
    assert list(mask.index) == [10, 11, 12, 13]
    assert mask.dtype == bool
    frame = pd.DataFrame({"labels": labels})
    assert selector_mask({}, frame).tolist() == [True] * 4
    assert selector_mask(None, frame).tolist() == [False] * 4
    index = LabelIndex(labels)
    assert isinstance(selector_mask({"matchLabels": {"app": "web"}}, index), np.ndarray)


def test_empty_index():
    index = LabelIndex([])
    assert len(index) == 0
    assert index.mask({}).tolist() == []
    assert index.mask(expr("a", "NotIn", ["b"])).tolist() == []


def test_index_dedupes_identical_label_sets():
    index = LabelIndex([{"app": "web"}] * 1000 + [{"app": "db"}])
    assert index.n_sets == 2
    assert int(index.mask({"matchLabels": {"app": "web"}}).sum()) == 1000


def _random_labels(rng):
    keys, values = ["app", "tier", "team", "env"], ["a", "b", "c"]
    return {k: rng.choice(values) for k in keys if rng.random() < 0.6}


def _random_selector(rng):
    keys, values = ["app", "tier", "team", "env", "zone"], ["a", "b", "c", "d"]
    sel = {}
    if rng.random() < 0.5:
        sel["matchLabels"] = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, 2))}
    exprs = []
    for _ in range(rng.randint(0, 3)):
        op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist", "Bogus"])
        e = {"key": rng.choice(keys), "operator": op}
        if op in ("In", "NotIn", "Bogus"):
            e["values"] = rng.sample(values, rng.randint(1, 3))
        exprs.append(e)
    if exprs:
        sel["matchExpressions"] = exprs
    return sel


def test_vectorized_mask_agrees_with_scalar_semantics():
    rng = random.Random(7)
    labels = [_random_labels(rng) for _ in range(400)]
    index = LabelIndex(labels)
    for _ in range(300):
        sel = _random_selector(rng)
        expected = [selector_matches(sel, lab) for lab in labels]
        assert index.mask(sel).tolist() == expected, sel
