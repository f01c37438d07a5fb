"""Would an admission policy have blocked this image? Per namespace and image reference.

The cluster's image-verifying admission rules (Kyverno ``verifyImages`` and image policies,
sigstore policy-controller ``ClusterImagePolicy``, Gatekeeper/Ratify constraints) are reduced to
:class:`ImageGate` objects: where a rule applies (namespaces, selectors, image globs) and whether
it enforces. :func:`evaluate_image_admission` answers for one namespace and image with an
:class:`AdmissionVerdict`; :class:`ImageAdmission` caches the answers for a whole cluster. What
cannot be decided offline (a Rego body, external data) is said so, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from zt_toolkit.frames import Frames
from zt_toolkit.frames.images import (
    GATEKEEPER_CONSTRAINT_GROUP,
    GATEKEEPER_TEMPLATES_KEY,
    KYVERNO_CEL_RESOURCES,
    KYVERNO_KEYS,
    SIGSTORE_INCLUDE_LABEL,
    SIGSTORE_RESOURCE,
    ImageReference,
    admission_gaps,
    constraint_row,
    is_enforce_action,
    kinds_target_pods,
    kyverno_match_kinds,
    policy_text,
    try_parse_image_reference,
)


@dataclass(frozen=True)
class ImageGate:
    """One admission rule that verifies images, reduced to what decides where it applies.

    ``images`` are the image globs it covers (empty: every image) and ``glob`` their dialect
    (``kyverno``: ``*`` spans ``/``; ``sigstore``: ``*`` stays in one path segment, ``**``
    spans them). ``match`` and ``exclude`` are Kyverno-style match blocks (``any``/``all`` of
    ``resources`` with ``namespaces`` globs and ``namespaceSelector``); ``scope_namespace``
    limits a namespaced policy to its namespace; ``opt_in`` requires the sigstore namespace
    label. ``opaque`` says why the gate's effect on an image cannot be evaluated offline (a
    Gatekeeper Rego / external-data constraint, a CEL image match); ``verifies`` what the gate
    checks: ``signature``, ``vulnerabilities`` (a vulnerability-scan attestation),
    ``attestation`` (other attestations), ``external data``.
    """

    engine: str
    kind: str
    name: str
    rule: str
    enforce: bool
    verifies: tuple[str, ...]
    images: tuple[str, ...] = ()
    skip_images: tuple[str, ...] = ()
    glob: str = "kyverno"
    match: Any = None
    exclude: Any = None
    scope_namespace: str = ""
    opt_in: bool = False
    overrides: tuple[tuple[bool, tuple[str, ...]], ...] = ()
    opaque: str = ""

    @property
    def label(self) -> str:
        """``Kyverno ClusterPolicy verify-acme-images`` (raw: escape before Markdown/HTML)."""
        engine = {"kyverno": "Kyverno", "sigstore": "sigstore", "gatekeeper": "Gatekeeper"}.get(
            self.engine, self.engine)
        return f"{engine} {self.kind} {self.name}"


class AdmissionVerdict(NamedTuple):
    """Would admission have blocked an image: verdict, the deciding policies, and why."""

    verdict: str  # blocked, audit only, not evaluated, not covered, unknown
    policies: tuple[str, ...]
    verifies: tuple[str, ...]
    detail: str


def vulnerable_image_answer(v: AdmissionVerdict) -> tuple[str, str]:
    """Would admission stop a *vulnerable* image? ``yes``, ``no`` or ``cannot tell``, and why.

    An enforcing policy stops a vulnerable image only when it verifies a vulnerability
    attestation: one that checks signatures admits a signed image with CVEs.

    Examples
    --------
    >>> vulnerable_image_answer(AdmissionVerdict("blocked", ("Kyverno ClusterPolicy v",),
    ...                                          ("signature",), ""))
    ('no', 'Kyverno ClusterPolicy v enforces signature only (a signed image is admitted)')
    >>> vulnerable_image_answer(AdmissionVerdict("not covered", (), (), ""))
    ('no', 'no enforcing policy covers it')
    """
    names = ", ".join(v.policies)
    if v.verdict == "blocked":
        if "vulnerabilities" in v.verifies:
            return "yes", f"{names} enforces a vulnerability attestation"
        return "no", (f"{names} enforces {' and '.join(v.verifies) or 'verification'} only "
                      "(a signed image is admitted)")
    if v.verdict == "audit only":
        return "no", f"{names} covers it in audit mode only"
    if v.verdict == "not evaluated":
        return "cannot tell", v.detail or f"{names} enforces a rule whose effect was not evaluated"
    if v.verdict == "unknown":
        return "cannot tell", "admission policies were not fully collected"
    return "no", "no enforcing policy covers it"


_VULN_HINT = re.compile(r"vuln|cve|trivy|grype|inspector|scan", re.IGNORECASE)


def wildcard_match(pattern: str, text: str) -> bool:
    """Kyverno / Gatekeeper wildcards: ``*`` any characters (``/`` included), ``?`` one."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text) is not None


def _sigstore_glob_match(pattern: str, text: str) -> bool:
    parts = re.split(r"(\*\*|\*)", pattern)
    regex = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return re.fullmatch(regex, text) is not None


def _image_forms(image: str, ref: ImageReference | None, glob: str) -> list[str]:
    """The spellings of an image a policy glob may be written against."""
    forms = [image]
    if ref is None:
        return forms
    names = [ref.name]
    if ref.is_docker_hub:
        short = ref.repository.removeprefix("library/")
        names += [f"index.docker.io/{ref.repository}", short, f"docker.io/{short}"]
    for name in names:
        forms.append(name)
        if ref.effective_tag:
            forms.append(f"{name}:{ref.effective_tag}")
        if ref.digest:
            forms.append(f"{name}@{ref.digest}")
            if ref.tag:
                forms.append(f"{name}:{ref.tag}@{ref.digest}")
    return list(dict.fromkeys(forms))


def _tri_any(values: Iterable[bool | None]) -> bool | None:
    values = list(values)
    return True if True in values else (None if None in values else False)


def _tri_all(values: Iterable[bool | None]) -> bool | None:
    values = list(values)
    return False if False in values else (None if None in values else True)


def _block_matches(block: dict[str, Any], namespace: str,
                   labels: dict[str, Any] | None) -> bool | None:
    res = block.get("resources") or {}
    kinds = res.get("kinds")
    if kinds and not kinds_target_pods(kinds):
        return False
    names = res.get("namespaces") or ()
    if names and not any(wildcard_match(str(p), namespace) for p in names):
        return False
    sel = res.get("namespaceSelector")
    if sel is not None:
        if labels is None:
            return None
        from zt_toolkit.analysis.selectors import selector_matches

        return selector_matches(sel, labels)
    return True


def _match_blocks(match: Any, namespace: str, labels: dict[str, Any] | None,
                  empty: bool) -> bool | None:
    if not isinstance(match, dict) or not match:
        return empty
    if match.get("any"):
        return _tri_any(_block_matches(b, namespace, labels) for b in match["any"])
    if match.get("all"):
        return _tri_all(_block_matches(b, namespace, labels) for b in match["all"])
    return _block_matches(match, namespace, labels)


def gate_applies(gate: ImageGate, namespace: str, labels: dict[str, Any] | None,
                 opted_in: bool | None) -> tuple[bool | None, str]:
    """Whether ``gate`` applies to pods of ``namespace`` (True / False / None = cannot tell).

    Returns the answer and, when it is not True, the reason in words.
    """
    if gate.scope_namespace and gate.scope_namespace != namespace:
        return False, f"namespaced to {gate.scope_namespace}"
    if gate.opt_in:
        if opted_in is None:
            return None, "namespace labels unknown"
        if not opted_in:
            return False, f"namespace {namespace} is not labelled {SIGSTORE_INCLUDE_LABEL}=true"
    matched = _match_blocks(gate.match, namespace, labels, empty=True)
    if matched is False:
        return False, f"does not match namespace {namespace}"
    excluded = _match_blocks(gate.exclude, namespace, labels, empty=False)
    if excluded is True:
        return False, f"excludes namespace {namespace}"
    if matched is None or excluded is None:
        return None, "namespace selector not evaluated (namespace labels unknown)"
    return True, ""


def gate_covers_image(gate: ImageGate, image: str) -> bool | None:
    """Whether ``gate``'s image globs cover ``image`` (None: a CEL match, not evaluated)."""
    ref = try_parse_image_reference(image)
    forms = _image_forms(image, ref, gate.glob)
    match = wildcard_match if gate.glob == "kyverno" else _sigstore_glob_match
    if any(match(p, f) for p in gate.skip_images for f in forms):
        return False
    if not gate.images:
        return None if gate.opaque.startswith("image match") else True
    return any(match(p, f) for p in gate.images for f in forms)


def _gate_enforces(gate: ImageGate, namespace: str) -> bool:
    for enforce, namespaces in gate.overrides:
        if any(wildcard_match(p, namespace) for p in namespaces):
            return enforce
    return gate.enforce


def evaluate_image_admission(gates: Iterable[ImageGate], namespace: str, image: str,
                             labels: dict[str, Any] | None = None,
                             opted_in: bool | None = None,
                             gaps: Iterable[str] = ()) -> AdmissionVerdict:
    """Tell whether admission would have blocked ``image`` in ``namespace``, and by which policy.

    ``blocked``: an enforcing gate covers the namespace and the image, so a pod is denied unless
    the image passes what the gate ``verifies`` (a signature-only policy admits a signed image
    with known CVEs: read ``verifies``). ``not evaluated``: an enforcing gate covers it but its
    effect (Gatekeeper Rego, external data) or its scope (namespace labels unknown, CEL image
    match) cannot be decided offline. ``audit only``: only gates in Audit / warn mode cover it.
    ``not covered``: no gate covers it (the detail says which gates skip it and why).
    ``unknown``: nothing covers it, but some admission policies were not collected (``gaps``).

    Examples
    --------
    >>> gate = ImageGate("kyverno", "ClusterPolicy", "verify", "sig", True, ("signature",),
    ...                  images=("111122223333.dkr.ecr.eu-west-1.amazonaws.com/*",),
    ...                  exclude={"any": [{"resources": {"namespaces": ["legacy-*"]}}]})
    >>> evaluate_image_admission(
    ...     [gate], "shop", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/api:1").verdict
    'blocked'
    >>> v = evaluate_image_admission(
    ...     [gate], "legacy-batch", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/api:1")
    >>> v.verdict, v.detail.endswith("verify excludes namespace legacy-batch)")
    ('not covered', True)
    """
    enforcing: list[ImageGate] = []
    undecided: list[tuple[ImageGate, str]] = []
    audited: list[ImageGate] = []
    skipped: list[str] = []
    for gate in gates:
        applies, why = gate_applies(gate, namespace, labels, opted_in)
        if applies is False:
            skipped.append(f"{gate.label} {why}")
            continue
        covers = gate_covers_image(gate, image)
        if covers is False:
            skipped.append(f"{gate.label} does not cover this image")
            continue
        enforce = _gate_enforces(gate, namespace)
        if not enforce:
            if applies and covers:
                audited.append(gate)
            continue
        if applies is None:
            undecided.append((gate, why))
        elif covers is None:
            undecided.append((gate, "its image match is a CEL expression, not evaluated"))
        elif gate.opaque:
            undecided.append((gate, gate.opaque))
        else:
            enforcing.append(gate)

    def names(items: Iterable[ImageGate]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(g.label for g in items))

    def verified(items: Iterable[ImageGate]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for g in items for v in g.verifies))

    if enforcing:
        checks = verified(enforcing)
        return AdmissionVerdict("blocked", names(enforcing), checks,
                                f"{', '.join(names(enforcing))} (enforcing) verifies its "
                                f"{' and '.join(checks) or 'image'}")
    if undecided:
        gate_list = [g for g, _ in undecided]
        return AdmissionVerdict(
            "not evaluated", names(gate_list), verified(gate_list),
            "; ".join(f"covered by {g.label} (enforcing), effect not evaluated: {why}"
                      for g, why in undecided))
    if audited:
        return AdmissionVerdict("audit only", names(audited), verified(audited),
                                f"{', '.join(names(audited))} covers it in audit mode only "
                                "(violations are reported, not denied)")
    gaps = list(gaps)
    reasons = f" ({'; '.join(skipped)})" if skipped else ""
    if gaps:
        return AdmissionVerdict("unknown", (), (), "no collected policy covers it, but "
                                + "; ".join(gaps) + reasons)
    return AdmissionVerdict("not covered", (), (),
                            f"no image-verifying policy covers it{reasons}")


def _verifies_of(entry: dict[str, Any], keys: tuple[str, ...] = ("attestors", "authorities"),
                 ) -> tuple[str, ...]:
    out = []
    if any(entry.get(k) for k in keys):
        out.append("signature")
    attestations = entry.get("attestations") or ()
    if attestations:
        text = policy_text(attestations)
        out.append("vulnerabilities" if _VULN_HINT.search(text) else "attestation")
    if not out and entry.get("verifyDigest"):
        out.append("digest")
    return tuple(out) or ("signature",)


def _kyverno_gates(obj: dict[str, Any], kind: str) -> list[ImageGate]:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    spec_action = spec.get("validationFailureAction") or "Audit"
    admission = spec.get("admission") is not False
    overrides = tuple(
        (is_enforce_action(o.get("action")), tuple(str(n) for n in o.get("namespaces") or ()))
        for o in spec.get("validationFailureActionOverrides") or ())
    gates = []
    for rule in spec.get("rules") or ():
        if not rule.get("verifyImages") or not kinds_target_pods(kyverno_match_kinds(rule)):
            continue
        for vi in rule["verifyImages"]:
            own = vi.get("failureAction")
            refs = vi.get("imageReferences") or vi.get("image") or ()
            refs = (refs,) if isinstance(refs, str) else tuple(str(r) for r in refs)
            gates.append(ImageGate(
                "kyverno", kind, meta.get("name", ""), rule.get("name", ""),
                admission and is_enforce_action(own or spec_action), _verifies_of(vi),
                images=refs or ("*",),
                skip_images=tuple(str(r) for r in vi.get("skipImageReferences") or ()),
                match=rule.get("match"), exclude=rule.get("exclude"),
                scope_namespace=meta.get("namespace") or "" if kind == "Policy" else "",
                overrides=() if own or not admission else overrides))
    return gates


def _kyverno_image_policy_gate(obj: dict[str, Any]) -> ImageGate:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    refs = spec.get("matchImageReferences") or ()
    globs = tuple(str(r["glob"]) for r in refs if isinstance(r, dict) and r.get("glob"))
    cel = any(isinstance(r, dict) and r.get("expression") for r in refs)
    constraints = spec.get("matchConstraints") or {}
    selector = constraints.get("namespaceSelector")
    match = ({"resources": {"namespaceSelector": selector}}
             if selector and parse_selector_nonempty(selector) else None)
    opaque = "image match by CEL expression" if cel and not globs else ""
    return ImageGate("kyverno", "ImageValidatingPolicy", meta.get("name", ""),
                     meta.get("name", ""), "Deny" in (spec.get("validationActions") or ()),
                     _verifies_of(spec), images=globs, match=match, opaque=opaque)


def parse_selector_nonempty(selector: Any) -> bool:
    """A label selector that restricts something (not empty)."""
    return isinstance(selector, dict) and bool(selector.get("matchLabels")
                                               or selector.get("matchExpressions"))


def _sigstore_gate(obj: dict[str, Any]) -> ImageGate:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    globs = tuple(str(i.get("glob", "")) for i in spec.get("images") or () if i.get("glob"))
    authorities = spec.get("authorities") or ()
    verifies = ["signature"] if authorities else []
    if any(a.get("attestations") for a in authorities):
        verifies.append("vulnerabilities" if _VULN_HINT.search(policy_text(authorities))
                        else "attestation")
    return ImageGate("sigstore", "ClusterImagePolicy", meta.get("name", ""), meta.get("name", ""),
                     str(spec.get("mode") or "enforce") == "enforce",
                     tuple(verifies) or ("signature",), images=globs or ("**",),
                     glob="sigstore", opt_in=True)


def _gatekeeper_gates(frames: Frames) -> list[ImageGate]:
    snap = frames.snapshot
    templates = {}
    for t in snap.iter_k8s(GATEKEEPER_TEMPLATES_KEY[4:]):
        spec = t.get("spec") or {}
        ckind = (((spec.get("crd") or {}).get("spec") or {}).get("names") or {}).get("kind") or ""
        templates[ckind] = (t, f"{ckind} {(t.get('metadata') or {}).get('name', '')} "
                               f"{policy_text(spec.get('targets') or [])}")
    gates = []
    for res in sorted(r for r in snap.k8s_resources() if r.endswith(GATEKEEPER_CONSTRAINT_GROUP)):
        if not snap.coverage(f"k8s/{res}").ok:
            continue
        for c in snap.iter_k8s(res):
            ckind = c.get("kind") or ""
            row = constraint_row(c, ckind, templates.get(ckind))
            enforced, audited = row["image_verification_enforced"], \
                row["image_verification_audited"]
            if not enforced and not audited:
                continue
            match = (c.get("spec") or {}).get("match") or {}
            block: dict[str, Any] = {}
            if match.get("namespaces"):
                block["namespaces"] = match["namespaces"]
            if match.get("namespaceSelector"):
                block["namespaceSelector"] = match["namespaceSelector"]
            exclude = ({"resources": {"namespaces": match["excludedNamespaces"]}}
                       if match.get("excludedNamespaces") else None)
            text = templates.get(ckind, (None, ckind))[1]
            engine_kind = "ratify" if re.search("ratify", f"{ckind} {text}", re.I) else ckind
            gates.append(ImageGate(
                "gatekeeper", ckind or "Constraint", (c.get("metadata") or {}).get("name", ""),
                engine_kind, bool(enforced), ("external data",) if "external_data" in text
                or engine_kind == "ratify" else ("signature",),
                match={"resources": block} if block else None, exclude=exclude,
                opaque="Rego / external-data verification"))
    return gates


def build_image_gates(frames: Frames) -> list[ImageGate]:
    """Every admission rule that verifies images, as :class:`ImageGate` objects.

    Kyverno ClusterPolicy / Policy ``verifyImages`` (one gate per entry, with its
    ``imageReferences``, ``skipImageReferences``, the rule's match / exclude and the failure
    action, including namespace overrides), Kyverno ImageValidatingPolicies, sigstore
    ClusterImagePolicies (opt-in namespaces), and Gatekeeper constraints that verify images
    (Ratify, cosign external data; their effect is not evaluated). Sources that were not
    collected contribute nothing: :func:`admission_gaps` reports them.

    Examples
    --------
    >>> from zt_toolkit.demo import build_demo
    >>> from zt_toolkit.snapshot import Snapshot
    >>> import tempfile, pathlib
    >>> snap = Snapshot.load(build_demo(pathlib.Path(tempfile.mkdtemp()) / "demo"))
    >>> [(g.name, g.enforce, g.verifies) for g in build_image_gates(Frames(snap))]
    [('verify-acme-images', True, ('signature',))]
    """
    snap = frames.snapshot
    gates: list[ImageGate] = []
    for key in KYVERNO_KEYS:
        if snap.coverage(key).ok:
            for obj in snap.iter_k8s(key[4:]):
                gates += _kyverno_gates(obj, "ClusterPolicy" if "cluster" in key else "Policy")
    image_policies = KYVERNO_CEL_RESOURCES[1]
    if snap.coverage(f"k8s/{image_policies}").ok:
        gates += [_kyverno_image_policy_gate(o) for o in snap.iter_k8s(image_policies)]
    if snap.coverage(f"k8s/{SIGSTORE_RESOURCE}").ok:
        gates += [_sigstore_gate(o) for o in snap.iter_k8s(SIGSTORE_RESOURCE)]
    gates += _gatekeeper_gates(frames)
    return gates


class ImageAdmission:
    """Evaluate admission for many (namespace, image) pairs of one snapshot, caching the inputs.

    Namespace labels come from the ``namespaces`` frame (``kubernetes.io/metadata.name`` is
    always set); without it, selector-scoped gates are ``not evaluated``. Not evaluated either:
    the engines' own webhook ``namespaceSelector`` and Kyverno ``resourceFilters`` (a namespace
    the webhook skips is reported as covered when the policy matches it), and the sigstore
    ``no-match-policy`` for images no ClusterImagePolicy names.

    Examples
    --------
    >>> from zt_toolkit.demo import build_demo
    >>> from zt_toolkit.snapshot import Snapshot
    >>> import tempfile, pathlib
    >>> snap = Snapshot.load(build_demo(pathlib.Path(tempfile.mkdtemp()) / "demo"))
    >>> ev = ImageAdmission(Frames(snap))
    >>> ev("legacy-batch", "nicolaka/netshoot").verdict
    'not covered'
    """

    def __init__(self, frames: Frames) -> None:
        self.gates = build_image_gates(frames)
        try:
            self.gaps = admission_gaps(frames, images=True)
        except Exception:  # noqa: BLE001 - a missing frame is a gap, not a crash
            self.gaps = ["admission policies could not be read"]
        self.labels: dict[str, dict[str, Any]] | None = None
        if not frames.gaps(["namespaces"]):
            ns = frames.namespaces
            self.labels = {n: dict(labels or {}) for n, labels in
                           zip(ns["name"], ns["labels"], strict=True)}
        self._cache: dict[tuple[str, str], AdmissionVerdict] = {}

    def __call__(self, namespace: str, image: str) -> AdmissionVerdict:
        """The :class:`AdmissionVerdict` for ``image`` in ``namespace``."""
        key = (namespace, image)
        if key not in self._cache:
            labels = None
            opted: bool | None = None
            if self.labels is not None:
                labels = {"kubernetes.io/metadata.name": namespace,
                          **self.labels.get(namespace, {})}
                opted = str(labels.get(SIGSTORE_INCLUDE_LABEL, "")).lower() == "true"
            self._cache[key] = evaluate_image_admission(self.gates, namespace, image, labels,
                                                        opted, self.gaps)
        return self._cache[key]
