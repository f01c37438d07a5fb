"""Markdown building blocks for the narrative: code fences and names safe to put in commands.

Cluster data is untrusted. Prose escapes it (:func:`zt_toolkit.report.notebook.md_escape`);
a command or a YAML patch takes a name only when it is a valid Kubernetes name, and a code block
is fenced so that no backtick run inside it can close it.
"""

from __future__ import annotations

import re
from typing import Any

# RFC 1123 subdomain, as Kubernetes object names (fullmatch: "$" would let a final "\n" in)
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def is_k8s_name(value: Any) -> bool:
    r"""Whether ``value`` is a valid Kubernetes object name (RFC 1123 subdomain).

    Examples
    --------
    >>> is_k8s_name("payment-gateway"), is_k8s_name("<script>"), is_k8s_name("api\n")
    (True, False, False)
    """
    return isinstance(value, str) and _K8S_NAME.fullmatch(value) is not None


def fenced(text: str, lang: str = "") -> str:
    """A Markdown code block whose fence is longer than any backtick run inside ``text``.

    Examples
    --------
    >>> print(fenced("kubectl get ns", "sh"))
    ```sh
    kubectl get ns
    ```
    """
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"
