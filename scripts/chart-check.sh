#!/usr/bin/env bash
# The Helm chart's checks (deploy/charts/eso-rs), run by scripts/test.sh after the backends
# start:
#   - `helm lint --strict` and `helm template` for every values file in the chart's ci/
#     (defaults, scoped, HA, webhook with its own certificate, webhook with cert-manager);
#   - the chart refuses an unknown value, a bad duration, two replicas without leader election;
#   - every rendered object applied to the kube backend's API server
#     (scripts/chart_apply.py: CRDs for real, the rest as a server-side dry run; kinds
#     whose CRD is absent, cert-manager's and the Prometheus Operator's, are skipped with a
#     note);
#   - the rendered RBAC (HA, scoped, webhook) applied for real and asked, with
#     SubjectAccessReviews, for every call the code makes and a list of calls it never makes
#     (scripts/chart_rbac.py);
#   - a real helm install, upgrade and uninstall (without CRDs and webhook).
#
# Needs HELM (scripts/backends/helm.sh) and, for the apply, KUBE_API_SERVER,
# KUBE_ADMIN_TOKEN, KUBE_CA_CERT and KUBECONFIG (scripts/backends/kube.sh). Without HELM it skips,
# unless ESO_REQUIRE_BACKENDS=1, then it fails; the same for the kube variables.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/deploy/charts/eso-rs"
RELEASE=eso-rs
NAMESPACE=eso-chart-check

missing() {
    if [[ "${ESO_REQUIRE_BACKENDS:-0}" == 1 ]]; then
        echo "chart-check: $1 (ESO_REQUIRE_BACKENDS=1)" >&2
        exit 1
    fi
    echo "chart-check: skip: $1"
}

if [[ -z "${HELM:-}" ]]; then
    missing "HELM is not set; start it with scripts/backends/helm.sh start"
    exit 0
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failed=0

for values in "$CHART"/ci/*-values.yaml; do
    name="$(basename "$values" -values.yaml)"
    if ! "$HELM" lint --strict --quiet "$CHART" --namespace "$NAMESPACE" -f "$values" >"$out/$name.lint" 2>&1; then
        echo "FAIL helm lint ($name):"; cat "$out/$name.lint"; failed=$((failed + 1)); continue
    fi
    if ! "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" -f "$values" >"$out/$name.yaml" 2>"$out/$name.err"; then
        echo "FAIL helm template ($name):"; cat "$out/$name.err"; failed=$((failed + 1)); continue
    fi
    echo "ok   helm lint and template ($name): $(grep -c '^kind:' "$out/$name.yaml") objects"
done

# The schema refuses what the chart does not read (an ESO value it does not support, a typo)
# and a duration the binary would refuse; the templates refuse two active replicas.
for bad in "--set unknownValue=1" "--set leaderElectionLeaseDuration=15" "--set webhook.failurePolicy=Maybe" "--set replicaCount=2"; do
    # shellcheck disable=SC2086
    if "$HELM" template "$RELEASE" "$CHART" $bad >/dev/null 2>&1; then
        echo "FAIL the chart accepts $bad"; failed=$((failed + 1))
    else
        echo "ok   the chart refuses $bad"
    fi
done

if [[ -z "${KUBE_API_SERVER:-}" || -z "${KUBE_ADMIN_TOKEN:-}" || -z "${KUBE_CA_CERT:-}" ]]; then
    missing "KUBE_API_SERVER, KUBE_ADMIN_TOKEN or KUBE_CA_CERT is not set; start scripts/backends/kube.sh"
else
    rendered=()
    for f in "$out"/*.yaml; do [[ "$f" == *.lint ]] || rendered+=("$f"); done
    if ! python3 "$ROOT/scripts/chart_apply.py" "${rendered[@]}"; then
        failed=$((failed + 1))
    fi
    # The rendered RBAC, applied for real, against the calls the code makes (and those it
    # never makes), asked of the API server's authorizer.
    for variant in ha scoped webhook; do
        if ! python3 "$ROOT/scripts/chart_rbac.py" "$variant" "$out/$variant.yaml"; then
            failed=$((failed + 1))
        fi
    done
fi

# A real install, upgrade (to HA) and uninstall: what the chart's README tells users to run.
# Without the CRDs and the webhook: the API server is shared with other tests, and a
# ValidatingWebhookConfiguration whose webhook cannot run here (no pods) would refuse their
# objects.
if [[ -z "${KUBECONFIG:-}" ]]; then
    missing "KUBECONFIG is not set; start scripts/backends/kube.sh"
else
    real=(--namespace eso-chart-install)
    "$HELM" uninstall eso-chart-real "${real[@]}" >/dev/null 2>&1 || true
    if "$HELM" install eso-chart-real "$CHART" "${real[@]}" --create-namespace \
            --set installCRDs=false --set webhook.create=false >"$out/install.log" 2>&1 &&
        "$HELM" upgrade eso-chart-real "$CHART" "${real[@]}" --reuse-values --set replicaCount=2 \
            --set leaderElect=true --set podDisruptionBudget.enabled=true >>"$out/install.log" 2>&1 &&
        "$HELM" uninstall eso-chart-real "${real[@]}" >>"$out/install.log" 2>&1; then
        echo "ok   helm install, upgrade (HA) and uninstall against the kube-apiserver"
    else
        echo "FAIL helm install / upgrade / uninstall:"; tail -n 20 "$out/install.log"; failed=$((failed + 1))
    fi
fi

if (( failed )); then
    echo "chart-check: $failed check(s) failed"
    exit 1
fi
echo "chart-check: all passed"
