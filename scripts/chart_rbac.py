#!/usr/bin/env python3
"""Check the chart's rendered RBAC against the API calls the operator makes.

usage: chart_rbac.py VARIANT RENDERED.yaml      VARIANT: ha | scoped | webhook

Applies the rendered ServiceAccounts, Roles, ClusterRoles and bindings (and the Namespaces
they live in) to the kube-apiserver for real, asks the API server's own authorizer
(SubjectAccessReview) whether the ServiceAccount may make each call, and removes the RBAC
objects again. Two lists per variant:

  ALLOWED  every call the operator or webhook makes (the table at the top of
           deploy/charts/eso-rs/templates/rbac.yaml and webhook-rbac.yaml);
  DENIED   calls a less careful role would allow and ours must not (least privilege),
           and, scoped, the same calls in another namespace.

This proves the rendered rules say what the table says; that the binary needs no more than
the table is proven by running it under this ServiceAccount (the operator's end-to-end tests).
Reads KUBE_API_SERVER, KUBE_ADMIN_TOKEN and KUBE_CA_CERT. Exits 1 on any mismatch.
"""

import sys
import time

import yaml

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
from chart_apply import Api, describe  # noqa: E402

ESO = "external-secrets.io"
GEN = "generators.external-secrets.io"
GENERATORS = [
    "acraccesstokens", "beyondtrustworkloadcredentialsdynamicsecrets", "cloudsmithaccesstokens",
    "ecrauthorizationtokens", "fakes", "gcraccesstokens", "githubaccesstokens",
    "gitlabdeploytokens", "grafanas", "mfas", "passwords", "quayaccesstokens", "sshkeys",
    "stssessiontokens", "uuids", "vaultdynamicsecrets", "webhooks",
]
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def call(verb, group, resource, ns=None, sub=None, name=None):
    return {"verb": verb, "group": group, "resource": resource, "namespace": ns,
            "subresource": sub, "name": name}


def namespaced_controller_calls(ns, push=True):
    """What the controller does inside one namespace."""
    kinds = ["externalsecrets", "secretstores"] + (["pushsecrets"] if push else [])
    out = [call(v, ESO, k, ns) for k in kinds for v in ("get", "list", "watch")]
    out += [call("patch", ESO, k, ns) for k in ["externalsecrets"] + (["pushsecrets"] if push else [])]
    out += [call("patch", ESO, k, ns, "status") for k in kinds]
    out += [call("update", ESO, k, ns, "finalizers") for k in ["externalsecrets"] + (["pushsecrets"] if push else [])]
    out += [call("get", GEN, g, ns) for g in GENERATORS]
    out += [call(v, GEN, "generatorstates", ns) for v in ("create", "get", "list", "patch", "delete")]
    out += [call(v, "", "secrets", ns) for v in ("get", "list", "watch", "create", "update", "delete")]
    out += [call("get", "", "configmaps", ns), call("create", "", "serviceaccounts", ns, "token")]
    out += [call(v, "events.k8s.io", "events", ns) for v in ("create", "patch")]
    return out


def namespaced_denied(ns):
    """Calls the operator never makes (least privilege)."""
    return [
        call("patch", "", "secrets", ns), call("deletecollection", "", "secrets", ns),
        call("list", "", "configmaps", ns), call("watch", "", "configmaps", ns),
        call("create", "", "configmaps", ns), call("get", "", "serviceaccounts", ns),
        call("create", "", "serviceaccounts", ns), call("create", "", "events", ns),
        call("update", ESO, "externalsecrets", ns, "status"), call("update", ESO, "secretstores", ns),
        call("patch", ESO, "secretstores", ns), call("delete", ESO, "secretstores", ns),
        call("list", GEN, "passwords", ns), call("watch", GEN, "passwords", ns),
        call("create", GEN, "passwords", ns), call("watch", GEN, "generatorstates", ns),
        call("update", GEN, "generatorstates", ns), call("get", "", "pods", ns),
        call("get", "coordination.k8s.io", "leases", ns, None, "external-secrets-controller"),
        call("patch", "apps", "deployments", ns),
    ]


def cluster_calls():
    out = [call(v, ESO, k) for k in ("clustersecretstores", "clusterexternalsecrets", "clusterpushsecrets")
           for v in ("get", "list", "watch")]
    out += [call("patch", ESO, k) for k in ("clusterexternalsecrets", "clusterpushsecrets")]
    out += [call("patch", ESO, k, None, "status") for k in ("clustersecretstores", "clusterexternalsecrets", "clusterpushsecrets")]
    out += [call("update", ESO, "clusterexternalsecrets", None, "finalizers"), call("get", GEN, "clustergenerators")]
    out += [call("list", "", "namespaces")]
    out += [call(v, ESO, k, "any-namespace") for k in ("externalsecrets", "pushsecrets") for v in ("create", "update", "delete")]
    return out


def cluster_denied():
    return [
        call("get", "", "namespaces", None, None, "default"), call("watch", "", "namespaces"),
        call("update", "", "namespaces"), call("create", ESO, "clustersecretstores"),
        call("list", GEN, "clustergenerators"), call("create", "", "nodes"),
        call("list", "rbac.authorization.k8s.io", "clusterroles"),
    ]


def variant_ha(release_ns):
    leases = "coordination.k8s.io"
    allowed = namespaced_controller_calls("any-namespace") + cluster_calls() + [
        call("create", leases, "leases", release_ns),
        call("get", leases, "leases", release_ns, None, "external-secrets-controller"),
        call("patch", leases, "leases", release_ns, None, "external-secrets-controller"),
    ]
    denied = namespaced_denied("any-namespace") + cluster_denied() + [
        call("get", leases, "leases", release_ns, None, "another-lease"),
        call("update", leases, "leases", release_ns, None, "external-secrets-controller"),
        call("delete", leases, "leases", release_ns, None, "external-secrets-controller"),
        call("list", leases, "leases", release_ns), call("create", leases, "leases", "default"),
    ]
    return "eso-rs", allowed, denied


def variant_scoped(release_ns, watched="eso-chart-scoped"):
    allowed = namespaced_controller_calls(watched)
    other = namespaced_controller_calls("default")
    denied = namespaced_denied(watched) + other + [
        call("list", ESO, "clustersecretstores"), call("list", "", "namespaces"),
        call("get", GEN, "clustergenerators"), call("list", ESO, "clusterexternalsecrets"),
        call("list", ESO, "externalsecrets"),  # across namespaces
        call("create", "coordination.k8s.io", "leases", release_ns),
    ]
    return "eso-rs", allowed, denied


def variant_webhook(release_ns):
    secret, config = "eso-rs-webhook-tls", f"eso-rs-{release_ns}"
    vwc = "admissionregistration.k8s.io"
    allowed = [
        call("get", "", "secrets", release_ns, None, secret),
        call("patch", "", "secrets", release_ns, None, secret),
        call("get", vwc, "validatingwebhookconfigurations", None, None, config),
        call("patch", vwc, "validatingwebhookconfigurations", None, None, config),
    ]
    denied = [
        call("get", "", "secrets", release_ns, None, "another-secret"),
        call("list", "", "secrets", release_ns), call("create", "", "secrets", release_ns),
        call("update", "", "secrets", release_ns, None, secret),
        call("delete", "", "secrets", release_ns, None, secret),
        call("get", "", "secrets", "default", None, secret),
        call("get", vwc, "validatingwebhookconfigurations", None, None, "another-config"),
        call("list", vwc, "validatingwebhookconfigurations"),
        call("update", vwc, "validatingwebhookconfigurations", None, None, config),
        call("get", ESO, "externalsecrets", release_ns),
    ]
    return "eso-rs-webhook", allowed, denied


VARIANTS = {"ha": variant_ha, "scoped": variant_scoped, "webhook": variant_webhook}


def review(api, sa_ns, sa, c):
    attrs = {k: v for k, v in c.items() if v is not None}
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": f"system:serviceaccount:{sa_ns}:{sa}",
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{sa_ns}", "system:authenticated"],
            "resourceAttributes": attrs,
        },
    }
    status, answer = api.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
    if status != 201:
        sys.exit(f"SubjectAccessReview failed: {status} {answer.get('message')}")
    return answer.get("status", {}).get("allowed", False)


def show(c):
    where = f" in {c['namespace']}" if c["namespace"] else " (cluster)"
    res = c["resource"] + (f"/{c['subresource']}" if c["subresource"] else "")
    group = c["group"] or "core"
    name = f" {c['name']}" if c["name"] else ""
    return f"{c['verb']} {group} {res}{name}{where}"


def main(argv):
    if len(argv) != 3 or argv[1] not in VARIANTS:
        sys.exit(__doc__)
    api = Api()
    with open(argv[2], encoding="utf-8") as f:
        objs = [d for d in yaml.safe_load_all(f) if d and d["kind"] in RBAC_KINDS]
    release_ns = next(o["metadata"]["namespace"] for o in objs if o["kind"] == "ServiceAccount")
    sa, allowed, denied = VARIANTS[argv[1]](release_ns)
    namespaces = sorted({o["metadata"]["namespace"] for o in objs if o["metadata"].get("namespace")})
    for ns in namespaces:
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, dry_run=False)
    failed = 0
    try:
        for o in objs:
            status, body = api.apply(o, dry_run=False)
            if status not in (200, 201):
                print(f"FAIL apply {describe(o)}: {status} {body.get('message')}")
                failed += 1
        # The authorizer sees new RBAC objects through its informers: wait for the first rule.
        deadline = time.time() + 15
        while not review(api, release_ns, sa, allowed[0]) and time.time() < deadline:
            time.sleep(0.2)
        bad_allowed = [c for c in allowed if not review(api, release_ns, sa, c)]
        bad_denied = [c for c in denied if review(api, release_ns, sa, c)]
        for c in bad_allowed:
            print(f"FAIL rbac ({argv[1]}): {sa} may not {show(c)}, which the code does")
        for c in bad_denied:
            print(f"FAIL rbac ({argv[1]}): {sa} may {show(c)}, which the code never does")
        failed += len(bad_allowed) + len(bad_denied)
        if not bad_allowed and not bad_denied:
            print(f"ok   rbac ({argv[1]}): {sa} may make the {len(allowed)} calls the code makes, "
                  f"and none of {len(denied)} it does not")
    finally:
        for o in reversed(objs):
            if o["kind"] == "ServiceAccount":
                continue
            api.delete(o)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
