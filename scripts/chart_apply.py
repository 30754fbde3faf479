#!/usr/bin/env python3
"""Apply rendered chart manifests to a kube-apiserver, without kubectl.

usage: chart_apply.py MANIFEST.yaml [MANIFEST.yaml ...]

Reads the API server from KUBE_API_SERVER, KUBE_ADMIN_TOKEN and KUBE_CA_CERT (what
scripts/backends/kube.sh exports). For each file:

  1. CustomResourceDefinitions are applied for real (server-side apply, field manager
     eso-chart-check, forced) and waited for until Established, so the custom objects
     after them are checked against their schemas;
  2. the namespaces the objects name are created for real (an empty Namespace is harmless
     and a dry run in a missing namespace fails);
  3. every other object is server-side applied with dryRun=All: the API server runs
     defaulting, validation, admission (RBAC escalation checks included) and the CRD schema,
     and stores nothing. Objects of a kind the server does not serve (cert-manager,
     Prometheus Operator: their CRDs are not installed here) are skipped with a note.

Prints one line per object and exits 1 if any object was refused.
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem
    sys.exit("chart_apply.py needs PyYAML (python3 -c 'import yaml' fails)")

FIELD_MANAGER = "eso-chart-check"


class Api:
    """A minimal client: bearer token, the server's CA, JSON in and out."""

    def __init__(self):
        try:
            self.server = os.environ["KUBE_API_SERVER"].rstrip("/")
            self.token = os.environ["KUBE_ADMIN_TOKEN"]
            ca = os.environ["KUBE_CA_CERT"]
        except KeyError as e:
            sys.exit(f"chart_apply.py: {e.args[0]} is not set (source .env.backends)")
        self.ctx = ssl.create_default_context(cafile=ca)
        self.resources = {}

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"message": raw.decode(errors="replace")}

    def resource(self, api_version, kind):
        """(plural, namespaced) of a kind, from discovery; None when not served."""
        if api_version not in self.resources:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            status, body = self.call("GET", path)
            found = {}
            if status == 200:
                for r in body.get("resources", []):
                    if "/" not in r["name"]:
                        found[r["kind"]] = (r["name"], r["namespaced"])
            self.resources[api_version] = found
        return self.resources[api_version].get(kind)

    def forget(self, api_version):
        self.resources.pop(api_version, None)

    def path_of(self, obj):
        """The object's URL path, or None when its kind is not served."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        found = self.resource(api_version, kind)
        if found is None:
            return None
        plural, namespaced = found
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        meta = obj["metadata"]
        ns = f"/namespaces/{meta['namespace']}" if namespaced and meta.get("namespace") else ""
        return f"{base}{ns}/{plural}/{meta['name']}"

    def delete(self, obj):
        path = self.path_of(obj)
        return (None, None) if path is None else self.call("DELETE", path)

    def apply(self, obj, dry_run):
        path = self.path_of(obj)
        if path is None:
            return None, None
        query = f"?fieldManager={FIELD_MANAGER}&force=true" + ("&dryRun=All" if dry_run else "")
        return self.call("PATCH", path + query, obj, "application/apply-patch+yaml")


def describe(obj):
    meta = obj.get("metadata", {})
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def wait_established(api, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body = api.call("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        if status == 200:
            conds = (body.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                return True
        time.sleep(0.2)
    return False


def check_file(api, path):
    with open(path, encoding="utf-8") as f:
        objs = [d for d in yaml.safe_load_all(f) if d]
    failed = 0
    crds = [o for o in objs if o["kind"] == "CustomResourceDefinition"]
    rest = [o for o in objs if o["kind"] != "CustomResourceDefinition"]
    for crd in crds:
        status, body = api.apply(crd, dry_run=False)
        if status != 200 and status != 201:
            print(f"FAIL {describe(crd)}: {status} {body.get('message')}")
            failed += 1
            continue
        if not wait_established(api, crd["metadata"]["name"]):
            print(f"FAIL {describe(crd)}: not Established within 60 s")
            failed += 1
            continue
        api.forget(f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}")
    if crds:
        print(f"ok   {len(crds)} CustomResourceDefinitions applied and Established")
    namespaces = sorted({o["metadata"]["namespace"] for o in rest if o["metadata"].get("namespace")})
    for ns in namespaces:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        status, answer = api.apply(body, dry_run=False)
        if status not in (200, 201):
            print(f"FAIL Namespace {ns}: {status} {answer.get('message')}")
            failed += 1
    for obj in rest:
        status, body = api.apply(obj, dry_run=True)
        if status is None:
            print(f"skip {describe(obj)}: {obj['apiVersion']} is not served here (its CRD is not installed)")
        elif status in (200, 201):
            print(f"ok   {describe(obj)} (server-side dry run)")
        else:
            print(f"FAIL {describe(obj)}: {status} {body.get('message')}")
            failed += 1
    return failed


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    api = Api()
    failed = 0
    for path in argv[1:]:
        print(f"--- {path}")
        failed += check_file(api, path)
    if failed:
        print(f"{failed} object(s) refused")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
