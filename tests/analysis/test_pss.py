"""The Pod Security Standards engine: versions, cache, verdict details, workloads, manifests."""

from __future__ import annotations

import copy

import pytest

from zt_toolkit.analysis import pss
from zt_toolkit.analysis.pss import (
    CHECK_LEVELS,
    CHECK_TITLES,
    LATEST,
    LEVELS,
    PodVerdict,
    Violation,
    active_checks,
    cache_clear,
    cache_info,
    evaluate_manifests,
    evaluate_pod,
    evaluate_pods,
    evaluate_spec,
    evaluate_workloads,
    overriding_check,
    parse_version,
)

RESTRICTED_SC = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def container(name="app", **security):
    c = {"name": name, "image": "registry.example/app:1"}
    if security:
        c["securityContext"] = security
    return c


def restricted_pod(**spec):
    """A pod the restricted profile admits at every version; ``spec`` overrides its fields."""
    base = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [container("init", **copy.deepcopy(RESTRICTED_SC))],
        "containers": [container("app", **copy.deepcopy(RESTRICTED_SC))],
    }
    return {"metadata": {"name": "p", "namespace": "shop"}, "spec": base | spec}


def only(verdict: PodVerdict) -> Violation:
    assert len(verdict.violations) == 1, verdict.describe()
    return verdict.violations[0]


# ----- versions and the registry ---------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("v1.30", (1, 30)), ("v1.0", (1, 0)), ("1.25", (1, 25)), ("V1.8", (1, 8)),
    ("latest", (1, 37)), ("Latest", (1, 37)), (None, (1, 37)), ("v1.37", (1, 37)),
    ("v1.38", (1, 37)), ("v1.99", (1, 37)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "v2.0", "v1", "v1.", "1.x", "v1.30.1", "next", "v0.9"])
def test_parse_version_rejects(text):
    with pytest.raises(ValueError, match="version"):
        parse_version(text)


def test_latest_is_v1_37_and_newer_versions_map_to_it():
    assert LATEST == "v1.37" and parse_version(LATEST) == (1, 37)
    pod = restricted_pod(securityContext={
        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
        "sysctls": [{"name": "net.ipv4.tcp_slow_start_after_idle", "value": "0"}]})
    assert not evaluate_pod(pod, "restricted", "v1.36").allowed
    for version in ("latest", "v1.37", "v1.40", None):
        assert evaluate_pod(pod, "restricted", version).allowed, version


def test_invalid_level_is_rejected():
    with pytest.raises(ValueError, match="level"):
        evaluate_pod(restricted_pod(), "privileged")


def test_registry_is_well_formed():
    assert set(CHECK_TITLES) == set(CHECK_LEVELS)
    assert all(len(t) <= 40 for t in CHECK_TITLES.values())
    for check in pss._CHECKS:
        since = [r.since for r in check.revisions]
        assert since == sorted(set(since)), check.id
        for rev in check.revisions:
            assert not rev.overrides or check.level == "restricted", check.id
            assert all(CHECK_LEVELS[o] == "baseline" for o in rev.overrides), check.id


@pytest.mark.parametrize(("version", "absent", "present"), [
    ("v1.0", {"allowPrivilegeEscalation", "runAsUser", "seccompProfile_restricted",
              "capabilities_restricted", "hostPathVolumes"},
     {"seccompProfile_baseline", "capabilities_baseline", "restrictedVolumes", "runAsNonRoot"}),
    ("v1.8", {"runAsUser"}, {"allowPrivilegeEscalation"}),
    ("v1.19", {"seccompProfile_baseline"}, {"seccompProfile_restricted"}),
    ("v1.22", {"capabilities_baseline"}, {"capabilities_restricted"}),
    ("v1.23", set(), {"runAsUser"}),
    ("v1.33", {"hostProbesAndHostLifecycle"}, {"procMount"}),
    ("v1.34", {"procMount_restricted"}, {"hostProbesAndHostLifecycle", "procMount"}),
    ("v1.35", {"procMount"}, {"procMount_restricted"}),
])
def test_restricted_checks_by_version(version, absent, present):
    checks = set(active_checks("restricted", version))
    assert not checks & absent
    assert present <= checks


def test_baseline_never_runs_restricted_checks_and_keeps_overridden_ones():
    for minor in range(38):
        ids = active_checks("baseline", f"v1.{minor}")
        assert all(CHECK_LEVELS[i] == "baseline" for i in ids)
        assert {"hostPathVolumes", "procMount", "seccompProfile_baseline"} <= set(ids)


def test_overriding_check():
    assert overriding_check("hostPathVolumes", "restricted", "v1.0") == "restrictedVolumes"
    assert overriding_check("hostPathVolumes", "baseline") == "hostPathVolumes"
    assert overriding_check("seccompProfile_baseline", "restricted", "v1.18") == (
        "seccompProfile_baseline")
    assert overriding_check("seccompProfile_baseline", "restricted", "v1.19") == (
        "seccompProfile_restricted")
    assert overriding_check("procMount", "restricted", "v1.34") == "procMount"
    assert overriding_check("procMount", "restricted", "v1.35") == "procMount_restricted"


# ----- the cache ---------------------------------------------------------------------------------
def test_a_template_is_evaluated_once_for_all_replicas_and_both_levels():
    cache_clear()
    template = restricted_pod(hostNetwork=True)
    for i in range(50):  # replicas: different names and labels, same template
        replica = copy.deepcopy(template)
        replica["metadata"] |= {"name": f"p-{i}", "labels": {"pod-template-hash": str(i)}}
        for level in LEVELS:
            assert only(evaluate_pod(replica, level, "v1.30")).check_id == "hostNamespaces"
    info = cache_info()
    assert info.evaluations == 1
    assert info.hits == 99
    evaluate_pod(template, "baseline", "v1.29")  # another version is another evaluation
    assert cache_info().evaluations == 2


def test_cache_key_includes_seccomp_and_apparmor_annotations_only():
    cache_clear()
    pod = restricted_pod()
    evaluate_pod(pod, "baseline", "v1.18")
    noisy = copy.deepcopy(pod)
    noisy["metadata"]["annotations"] = {"prometheus.io/scrape": "true"}
    assert evaluate_pod(noisy, "baseline", "v1.18").allowed
    assert cache_info().evaluations == 1
    unconfined = copy.deepcopy(pod)
    unconfined["metadata"]["annotations"] = {pss.SECCOMP_POD_ANNOTATION: "unconfined"}
    assert only(evaluate_pod(unconfined, "baseline", "v1.18")).check_id == (
        "seccompProfile_baseline")
    assert cache_info().evaluations == 2


def test_cache_returns_equal_verdicts_to_a_cold_evaluation():
    pod = restricted_pod(hostPID=True)
    cache_clear()
    cold = evaluate_pod(pod, "restricted", "v1.30")
    warm = evaluate_pod(pod, "restricted", "v1.30")
    cache_clear()
    assert cold == warm == evaluate_pod(pod, "restricted", "v1.30")


def test_evaluate_spec_equals_evaluate_pod_for_a_template():
    deployment = {"kind": "Deployment", "spec": {"template": {
        "metadata": {"annotations": {
            "container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
        "spec": {"containers": [container("app", privileged=True)]}}}}
    template = deployment["spec"]["template"]
    pod = {"metadata": {"name": "x-1", **template["metadata"]}, "spec": template["spec"]}
    for level in LEVELS:
        for version in ("v1.0", "v1.18", "v1.25", "latest"):
            by_spec = evaluate_spec(template["metadata"], template["spec"], level, version)
            assert by_spec == evaluate_pod(pod, level, version)
            assert {"privileged", "appArmorProfile"} <= set(by_spec.check_ids)


# ----- violation details -----------------------------------------------------------------------
def test_privileged_init_container_is_named():
    pod = restricted_pod()
    pod["spec"]["initContainers"][0]["securityContext"]["privileged"] = True
    for level in LEVELS:
        v = only(evaluate_pod(pod, level, "v1.30"))
        assert v == Violation("privileged", "privileged",
                              'container "init" must not set securityContext.privileged=true')


def test_ephemeral_containers_are_checked():
    pod = restricted_pod(ephemeralContainers=[container("debugger", runAsUser=0)])
    verdict = evaluate_pod(pod, "restricted", "v1.30")
    assert verdict.check_ids == ("allowPrivilegeEscalation", "capabilities_restricted",
                                 "runAsUser")
    assert all('"debugger"' in v.detail for v in verdict.violations)
    assert evaluate_pod(pod, "baseline", "v1.30").allowed


def test_host_path_under_restricted_is_reported_by_restricted_volumes():
    pod = restricted_pod(volumes=[
        {"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}},
        {"name": "cache", "emptyDir": {}},
        {"name": "data", "nfs": {"server": "nfs", "path": "/"}},
    ])
    baseline = only(evaluate_pod(pod, "baseline", "v1.30"))
    assert baseline.check_id == "hostPathVolumes"
    assert baseline.detail == 'volume "sock" uses hostPath'
    restricted = only(evaluate_pod(pod, "restricted", "v1.30"))
    assert restricted.check_id == "restrictedVolumes"
    assert restricted.reason == "restricted volume types"
    assert restricted.detail == (
        'volumes "sock", "data" use restricted volume types "hostPath", "nfs"')


def test_volume_without_source_is_an_empty_dir_and_image_volumes_are_allowed():
    pod = restricted_pod(volumes=[{"name": "scratch"},
                                  {"name": "model", "image": {"reference": "r/m:1"}}])
    assert evaluate_pod(pod, "restricted", "v1.0").allowed


def test_windows_pod_skips_linux_only_restricted_checks_from_1_25():
    pod = {"metadata": {"name": "win"}, "spec": {
        "os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True},
        "containers": [container("iis")]}}
    assert evaluate_pod(pod, "restricted", "v1.24").check_ids == (
        "allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted")
    assert evaluate_pod(pod, "restricted", "v1.25").allowed
    assert evaluate_pod(pod, "restricted", "latest").allowed
    # runAsNonRoot and the baseline checks still apply to Windows pods
    pod["spec"]["securityContext"] = {"windowsOptions": {"hostProcess": True}}
    verdict = evaluate_pod(pod, "restricted", "v1.30")
    assert verdict.check_ids == ("windowsHostProcess", "runAsNonRoot")
    assert verdict.violations[0].detail == (
        "pod must not set securityContext.windowsOptions.hostProcess=true")
    assert verdict.violations[1].detail == (
        'pod or container "iis" must set securityContext.runAsNonRoot=true')


@pytest.mark.parametrize(("sysctl", "first_safe"), [
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
    ("net.ipv4.tcp_notsent_lowat", 37),
    ("kernel.msgmax", None),
])
def test_sysctl_safe_list_grows_by_version(sysctl, first_safe):
    pod = {"metadata": {}, "spec": {"securityContext": {"sysctls": [{"name": sysctl}]},
                                    "containers": [container()]}}
    for minor in range(38):
        verdict = evaluate_pod(pod, "baseline", f"v1.{minor}")
        safe = first_safe is not None and minor >= first_safe
        assert verdict.allowed == safe, (sysctl, minor)
        if not safe:
            assert only(verdict) == Violation("sysctls", "forbidden sysctls", sysctl)


def test_user_namespace_relaxations_from_1_35():
    pod = restricted_pod(hostUsers=False, securityContext={
        "runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}})
    pod["spec"]["containers"][0]["securityContext"]["procMount"] = "Unmasked"
    assert evaluate_pod(pod, "restricted", "v1.34").check_ids == (
        "procMount", "runAsNonRoot", "runAsUser")
    assert evaluate_pod(pod, "baseline", "v1.34").check_ids == ("procMount",)
    assert evaluate_pod(pod, "baseline", "v1.35").allowed
    restricted = only(evaluate_pod(pod, "restricted", "v1.35"))
    assert restricted.check_id == "procMount_restricted"
    assert restricted.detail == (
        'container "app" must not set securityContext.procMount to "Unmasked"')


def test_seccomp_annotations_before_1_19_fields_after():
    pod = restricted_pod()
    pod["metadata"]["annotations"] = {
        "container.seccomp.security.alpha.kubernetes.io/init": "unconfined"}
    v = only(evaluate_pod(pod, "baseline", "v1.18"))
    assert v.detail == ('forbidden annotation '
                        'container.seccomp.security.alpha.kubernetes.io/init="unconfined"')
    assert evaluate_pod(pod, "baseline", "v1.19").allowed
    pod["spec"]["containers"][0]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    assert evaluate_pod(pod, "restricted", "v1.19").violations == (Violation(
        "seccompProfile_restricted", "seccompProfile",
        'container "app" must not set securityContext.seccompProfile.type to "Unconfined"'),)


def test_apparmor_annotations_and_fields():
    pod = restricted_pod()
    pod["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/app": "localhost/custom"}
    pod["spec"]["securityContext"]["appArmorProfile"] = {"type": "Unconfined"}
    v = only(evaluate_pod(pod, "baseline", "v1.30"))
    assert v.check_id == "appArmorProfile"
    assert v.detail == 'pod must not set securityContext.appArmorProfile.type to "Unconfined"'
    pod["spec"]["securityContext"]["appArmorProfile"] = {"type": "RuntimeDefault"}
    assert evaluate_pod(pod, "restricted", "v1.30").allowed


def test_selinux_type_container_engine_t_from_1_31():
    pod = restricted_pod()
    pod["spec"]["containers"][0]["securityContext"]["seLinuxOptions"] = {
        "type": "container_engine_t"}
    assert only(evaluate_pod(pod, "baseline", "v1.30")).detail == (
        'container "app" set forbidden securityContext.seLinuxOptions: type "container_engine_t"')
    assert evaluate_pod(pod, "baseline", "v1.31").allowed


def test_restricted_capabilities_detail():
    pod = restricted_pod()
    pod["spec"]["containers"][0]["securityContext"]["capabilities"] = {"add": ["NET_RAW"]}
    verdict = evaluate_pod(pod, "restricted", "v1.30")
    assert only(verdict).detail == (
        'container "app" must set securityContext.capabilities.drop=["ALL"]; '
        'container "app" must not include "NET_RAW" in securityContext.capabilities.add')
    assert only(evaluate_pod(pod, "restricted", "v1.21")).check_id == "capabilities_baseline"


def test_violations_are_ordered_baseline_first_then_by_id():
    app = container(privileged=True, runAsUser=0) | {
        "ports": [{"containerPort": 80, "hostPort": 80}]}
    pod = {"metadata": {}, "spec": {"hostIPC": True, "containers": [app]}}
    assert evaluate_pod(pod, "restricted", "v1.30").check_ids == (
        "hostNamespaces", "hostPorts", "privileged", "allowPrivilegeEscalation",
        "capabilities_restricted", "runAsNonRoot", "runAsUser", "seccompProfile_restricted")


def test_empty_and_none_fields_do_not_crash():
    pod = {"metadata": None, "spec": {"securityContext": None, "containers": [
        {"name": "a", "securityContext": None, "ports": None}], "volumes": None}}
    assert evaluate_pod(pod, "baseline").allowed
    assert not evaluate_pod(pod, "restricted").allowed


def test_evaluate_pods_matches_evaluate_pod_one_by_one():
    pods = [restricted_pod(), restricted_pod(hostPID=True), restricted_pod(hostUsers=False)]
    cache_clear()
    batch = evaluate_pods(pods, "restricted", "v1.30")
    cache_clear()
    assert batch == [evaluate_pod(p, "restricted", "v1.30") for p in pods]
    assert [v.allowed for v in batch] == [True, False, True]


# ----- workloads and manifests -------------------------------------------------------------------
def test_evaluate_workloads_on_the_demo(demo_snapshot):
    from zt_toolkit.frames import Frames
    from zt_toolkit.snapshot import Snapshot

    frames = Frames(Snapshot.load(demo_snapshot))
    verdicts = evaluate_workloads(frames.workloads, frames.pod_specs, "baseline", "v1.30")
    assert len(verdicts) == len(frames.workloads)
    assert set(verdicts.version) == {"v1.30"}
    by_name = verdicts.set_index(["kind", "namespace", "name"])
    falco = by_name.loc[("DaemonSet", "monitoring", "falco")]
    assert not falco.allowed and "privileged" in falco.check_ids
    assert by_name.loc[("Deployment", "storefront", "api")].allowed
    for row in verdicts.itertuples(index=False):
        w = frames.workloads[(frames.workloads.kind == row.kind)
                             & (frames.workloads.namespace == row.namespace)
                             & (frames.workloads.name == row.name)].iloc[0]
        spec = frames.pod_specs[w.spec_hash]
        assert evaluate_spec(spec["metadata"], spec["spec"], "baseline", "v1.30").check_ids == (
            row.check_ids)


def test_evaluate_manifests_reads_templates_and_skips_broken_files(tmp_path):
    (tmp_path / "apps.yaml").write_text("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      hostNetwork: true
      containers: [{name: web, image: nginx}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: busybox, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
""")
    (tmp_path / "broken.yaml").write_text("kind: Pod\n\tspec: {}\n")
    verdicts, warnings = evaluate_manifests([tmp_path], "baseline", "v1.30")
    assert list(zip(verdicts.kind, verdicts.namespace, verdicts.name, strict=True)) == [
        ("Deployment", "shop", "web"), ("CronJob", "default", "nightly")]
    assert list(verdicts.check_ids) == [("hostNamespaces",), ("privileged",)]
    assert len(warnings) == 1 and "broken.yaml" in warnings[0]
