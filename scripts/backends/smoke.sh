#!/usr/bin/env bash
# Smoke-check running backends with curl: a secret written and read back on
# each, plus the auth methods each backend sets up.
#
# usage: scripts/backends/smoke.sh [backend...] [--instance NAME]
#   default backends: the ones whose instance is running
# Prints one line per check and 'N passed, N failed'; exits 1 on a failure or
# when a named backend is not running.
# The per-backend checks run in subshells (each loads its env) and hand their
# counts back through a file.
# shellcheck disable=SC2030,SC2031
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
instance=""
wanted=()
while (( $# )); do
    case "$1" in
        --instance) instance="$2"; shift 2 ;;
        *) wanted+=("$1"); shift ;;
    esac
done
explicit=1
if (( ${#wanted[@]} == 0 )); then
    wanted=(kube openbao moto gcp azure infisical onepassword generators helm)
    explicit=0
fi

passed=0
failed=0
check() {
    local name="$1"; shift
    local out
    if out="$("$@" 2>&1)"; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name: $(tail -n 3 <<<"$out")"
    fi
}
# expect WANT CMD...: CMD's stdout must equal WANT
expect() {
    local want="$1" got; shift
    got="$("$@")"
    [[ "$got" == "$want" ]] || { echo "expected '$want', got '$got'"; return 1; }
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

smoke_openbao() {
    local t=(-H "X-Vault-Token: $VAULT_TOKEN")
    check "openbao kv2 put" curl -fsS "${t[@]}" -X POST -d '{"data":{"password":"hunter2"}}' "$VAULT_HTTP_ADDR/v1/secret/data/smoke"
    check "openbao kv2 get" expect hunter2 sh -c "curl -fsS -H 'X-Vault-Token: $VAULT_TOKEN' '$VAULT_HTTP_ADDR/v1/secret/data/smoke' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"data\"][\"password\"])'"
    check "openbao kv1 put over TLS" curl -fsS --cacert "$VAULT_CACERT" "${t[@]}" -X POST -d '{"password":"v1"}' "$VAULT_TLS_ADDR/v1/kv1/smoke"
    check "openbao kv1 get over TLS" expect v1 sh -c "curl -fsS --cacert '$VAULT_CACERT' -H 'X-Vault-Token: $VAULT_TOKEN' '$VAULT_TLS_ADDR/v1/kv1/smoke' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"password\"])'"
    check "openbao approle login" curl -fsS -X POST -d "{\"role_id\":\"$VAULT_APPROLE_ROLE_ID\",\"secret_id\":\"$VAULT_APPROLE_SECRET_ID\"}" "$VAULT_HTTP_ADDR/v1/auth/approle/login"
    check "openbao userpass login" curl -fsS -X POST -d "{\"password\":\"$VAULT_USERPASS_PASSWORD\"}" "$VAULT_HTTP_ADDR/v1/auth/userpass/login/$VAULT_USERPASS_USERNAME"
    check "openbao jwt login" curl -fsS -X POST -d "{\"role\":\"$VAULT_JWT_ROLE\",\"jwt\":\"$VAULT_JWT_TOKEN\"}" "$VAULT_HTTP_ADDR/v1/auth/jwt/login"
    check "openbao cert login (client certificate)" curl -fsS --cacert "$VAULT_CACERT" --cert "$VAULT_CLIENT_CERT" --key "$VAULT_CLIENT_KEY" -X POST -d "{\"name\":\"$VAULT_CERT_ROLE\"}" "$VAULT_TLS_ADDR/v1/auth/cert/login"
    check "openbao namespace kv2 put" curl -fsS "${t[@]}" -H "X-Vault-Namespace: $VAULT_TEST_NAMESPACE" -X POST -d '{"data":{"k":"ns"}}' "$VAULT_HTTP_ADDR/v1/secret/data/smoke"
    if [[ -n "${VAULT_KUBERNETES_ROLE:-}" && -n "${KUBE_SA_TOKEN:-}" ]]; then
        check "openbao kubernetes login (TokenReview)" curl -fsS -X POST -d "{\"role\":\"$VAULT_KUBERNETES_ROLE\",\"jwt\":\"$KUBE_SA_TOKEN\"}" "$VAULT_HTTP_ADDR/v1/auth/kubernetes/login"
    fi
}

aws_json() {
    local svc="$1" target="$2" body="$3"
    curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:$svc" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "X-Amz-Target: $target" -H 'Content-Type: application/x-amz-json-1.1' -d "$body" "$AWS_ENDPOINT_URL/"
}
smoke_moto() {
    local name="smoke-$RANDOM$RANDOM"
    check "moto secretsmanager create" aws_json secretsmanager secretsmanager.CreateSecret "{\"Name\":\"$name\",\"SecretString\":\"hunter2\"}"
    check "moto secretsmanager get" expect hunter2 sh -c "$(declare -f aws_json); aws_json secretsmanager secretsmanager.GetSecretValue '{\"SecretId\":\"$name\"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"SecretString\"])'"
    check "moto ssm put" aws_json ssm AmazonSSM.PutParameter "{\"Name\":\"/$name\",\"Value\":\"42\",\"Type\":\"SecureString\"}"
    check "moto ssm get" expect 42 sh -c "$(declare -f aws_json); aws_json ssm AmazonSSM.GetParameter '{\"Name\":\"/$name\",\"WithDecryption\":true}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"Parameter\"][\"Value\"])'"
    check "moto ecr token" aws_json ecr AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken '{}'
    check "moto sts caller identity" curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:sts" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -d 'Action=GetCallerIdentity&Version=2011-06-15' "$AWS_ENDPOINT_URL/"
}

kcurl() { curl -fsS --cacert "$KUBE_CA_CERT" -H "Authorization: Bearer $KUBE_ADMIN_TOKEN" "$@"; }
smoke_kube() {
    local name="smoke-$RANDOM$RANDOM"
    check "kube secret create" kcurl -X POST -H 'Content-Type: application/json' \
        -d "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"$name\"},\"stringData\":{\"password\":\"hunter2\"}}" \
        "$KUBE_API_SERVER/api/v1/namespaces/default/secrets"
    check "kube secret get" expect "$(printf hunter2 | base64)" sh -c "$(declare -f kcurl); kcurl '$KUBE_API_SERVER/api/v1/namespaces/default/secrets/$name' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"password\"])'"
    check "kube TokenReview of the eso SA token" expect True sh -c "curl -fsS --cacert '$KUBE_CA_CERT' -H 'Authorization: Bearer $KUBE_TOKEN_REVIEWER_TOKEN' -H 'Content-Type: application/json' -X POST -d '{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"$KUBE_SA_TOKEN\"}}' '$KUBE_API_SERVER/apis/authentication.k8s.io/v1/tokenreviews' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"][\"authenticated\"])'"
    check "kube kubeconfig is readable" test -r "$KUBECONFIG"
}

smoke_gcp() {
    local e="$GCP_SECRET_MANAGER_REST_ENDPOINT/v1/projects/$GCP_PROJECT_ID" name="smoke-$RANDOM$RANDOM"
    local j=(-H 'Content-Type: application/json')
    check "gcp create secret with labels (REST)" curl -fsS -X POST "${j[@]}" -d '{"replication":{"automatic":{}},"labels":{"team":"eso"}}' "$e/secrets?secretId=$name"
    check "gcp add version 1 (REST)" curl -fsS -X POST "${j[@]}" -d "{\"payload\":{\"data\":\"$(printf hunter2 | base64)\"}}" "$e/secrets/$name:addVersion"
    check "gcp add version 2 (REST)" curl -fsS -X POST "${j[@]}" -d "{\"payload\":{\"data\":\"$(printf hunter3 | base64)\"}}" "$e/secrets/$name:addVersion"
    check "gcp access latest (REST)" expect "$(printf hunter3 | base64)" sh -c "curl -fsS '$e/secrets/$name/versions/latest:access' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"payload\"][\"data\"])'"
    check "gcp access version 1 (REST)" expect "$(printf hunter2 | base64)" sh -c "curl -fsS '$e/secrets/$name/versions/1:access' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"payload\"][\"data\"])'"
    check "gcp get secret labels (REST)" expect eso sh -c "curl -fsS '$e/secrets/$name' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"labels\"][\"team\"])'"
    check "gcp update labels (REST)" curl -fsS -X PATCH "${j[@]}" -d '{"labels":{"team":"eso","managed-by":"external-secrets"}}' "$e/secrets/$name?updateMask=labels"
    check "gcp list secrets (REST)" expect True sh -c "curl -fsS '$e/secrets' | python3 -c 'import json,sys; print(any(s[\"name\"].endswith(\"/$name\") and s[\"labels\"].get(\"managed-by\") == \"external-secrets\" for s in json.load(sys.stdin)[\"secrets\"]))'"
    check "gcp list versions (REST)" expect 2 sh -c "curl -fsS '$e/secrets/$name/versions' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"versions\"]))'"
    check "gcp delete secret (REST)" curl -fsS -X DELETE "$e/secrets/$name"
    check "gcp deleted secret is NOT_FOUND (REST)" expect 404 curl -sS -o /dev/null -w '%{http_code}' "$e/secrets/$name/versions/latest:access"
}

smoke_azure() {
    # Microsoft's Python SDK (azure-keyvault-secrets, azure-identity) against the test server.
    local py="${AZURE_PYTHON:-python3}" name="smoke-$$"
    local step=("$py" "$here/azure_smoke.py")
    check "azure (python sdk) set secret" "${step[@]}" set "$name"
    check "azure (python sdk) get secret, by version" "${step[@]}" get "$name"
    check "azure (python sdk) list with paging, list versions" "${step[@]}" list-paging "$name"
    check "azure (python sdk) delete (soft)" "${step[@]}" delete "$name"
    check "azure (python sdk) recover" "${step[@]}" recover "$name"
    check "azure (python sdk) purge, name reusable" "${step[@]}" purge "$name"
}

smoke_generators() {
    # The vendors' own clients against the generator test server: PyGithub, python-gitlab, grafana-client,
    # cloudsmith-api (Quay and BeyondTrust publish none for these calls).
    local step=("${GENERATORS_PYTHON:-python3}" "$here/generators_smoke.py")
    check "generators (PyGithub) installation token" "${step[@]}" github-token
    check "generators (PyGithub) scoped token, 422 for a permission not granted" "${step[@]}" github-scoped
    check "generators (PyGithub) 404 for another App's installation, 401 for a foreign key" "${step[@]}" github-wrong-app
    check "generators (python-gitlab) project deploy token by path: create, list, delete, 404 again" "${step[@]}" gitlab-project
    check "generators (python-gitlab) group deploy token, 400 for a project-only scope, 403 for read_api" "${step[@]}" gitlab-group-and-scopes
    check "generators (grafana-client) service account, token works until deleted" "${step[@]}" grafana-token
    check "generators (grafana-client) basic auth, 409 taken name, 404 unknown token, 401 bad token" "${step[@]}" grafana-basic-and-errors
    check "generators (cloudsmith-api) OIDC exchange, the token authenticates at user/self" "${step[@]}" cloudsmith-exchange
    check "generators (cloudsmith-api) 401 wrong audience, 404 unknown org or service, 400 missing token, 401 bad key" "${step[@]}" cloudsmith-errors
}

smoke_helm() {
    check "helm version (the built client runs)" "$HELM" version --short
    check "helm template of a minimal chart" sh -c 'd="$(mktemp -d)"; mkdir -p "$d/templates"; printf "apiVersion: v2\nname: smoke\nversion: 0.1.0\n" >"$d/Chart.yaml"; printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n" >"$d/templates/cm.yaml"; out="$("$HELM" template smoke-release "$d")"; rm -rf "$d"; printf "%s" "$out" | grep -q "name: smoke-release"'
}

smoke_infisical() {
    # Infisical's two official Python SDKs against the test server: infisicalsdk and the
    # older infisical-python (a binding of Infisical's Rust SDK core, so a second HTTP client
    # and SigV4 signer). The official CLI is not checked: the npm package @infisical/cli
    # carries no binary, its preinstall script downloads the release archive from GitHub (not
    # reachable from the machines these checks run on), and its Go module is not served by
    # the Go module proxy.
    local py="${INFISICAL_PYTHON:-python3}" name="SMOKE_$$"
    local step=("$py" "$here/infisical_smoke.py")
    check "infisical (python sdk) universal auth, create secret" "${step[@]}" create "$name"
    check "infisical (python sdk) get secret" "${step[@]}" get "$name"
    check "infisical (python sdk) update secret" "${step[@]}" update "$name"
    check "infisical (python sdk) list secrets" "${step[@]}" list "$name"
    check "infisical (python sdk) delete secret" "${step[@]}" delete "$name"
    check "infisical (python sdk) aws iam auth, list secrets" "${step[@]}" aws-login "$name"
    if ! "$py" -c 'import infisical_client' 2>/dev/null; then
        echo "skip infisical (rust-core sdk): infisical-python is not installed (no wheel for this Python)"
        return 0
    fi
    check "infisical (rust-core sdk) universal auth, create secret in /app" "${step[@]}" rust-create "$name"
    check "infisical (rust-core sdk) get secret" "${step[@]}" rust-get "$name"
    check "infisical (rust-core sdk) update secret" "${step[@]}" rust-update "$name"
    check "infisical (rust-core sdk) list secrets recursively" "${step[@]}" rust-list "$name"
    check "infisical (rust-core sdk) delete secret" "${step[@]}" rust-delete "$name"
    check "infisical (rust-core sdk) kubernetes auth, list secrets" "${step[@]}" rust-k8s-login "$name"
    check "infisical (rust-core sdk) aws iam auth with session credentials, list secrets" "${step[@]}" rust-aws-login "$name"
}

smoke_onepassword() {
    # 1Password's official Connect SDKs against the test server: Python (onepasswordconnectsdk)
    # and, when npm could install it, JavaScript (@1password/connect).
    local py="${OP_PYTHON:-python3}" name="SMOKE_$$"
    local step=("$py" "$here/onepassword_smoke.py")
    check "onepassword (python sdk) create item with fields and tags" "${step[@]}" create "$name"
    check "onepassword (python sdk) get item by title" "${step[@]}" get "$name"
    check "onepassword (python sdk) update item" "${step[@]}" update "$name"
    check "onepassword (python sdk) list items (filter and all)" "${step[@]}" list "$name"
    check "onepassword (python sdk) files: list and download" "${step[@]}" files "$name"
    check "onepassword (python sdk) 403 for a vault outside the token's scope" "${step[@]}" denied "$name"
    check "onepassword (python sdk) delete item" "${step[@]}" delete "$name"
    if [[ -n "${OP_NODE_MODULES:-}" ]] && command -v node >/dev/null 2>&1; then
        local js=(env NODE_PATH="$OP_NODE_MODULES" node "$here/onepassword_smoke.js")
        check "onepassword (js sdk) create item" "${js[@]}" create "${name}_js"
        check "onepassword (js sdk) get item by title" "${js[@]}" get "${name}_js"
        check "onepassword (js sdk) update item" "${js[@]}" update "${name}_js"
        check "onepassword (js sdk) search by part of the title" "${js[@]}" search "${name}_js"
        check "onepassword (js sdk) delete item" "${js[@]}" delete "${name}_js"
    else
        echo "skip onepassword (js sdk): node or @1password/connect not installed"
    fi
}

smoke_eso() {
    check "eso controller --help (the built binary runs)" sh -c '"$ESO_BIN" --help | grep -q -- --controller-class'
    check "eso CRDs of the same release" test -s "$ESO_CRDS_DIR/external-secrets.io_externalsecrets.yaml"
}

not_running=()
for b in "${wanted[@]}"; do
    if ! out="$("$here/$b.sh" env ${instance:+"$instance"} 2>/dev/null)"; then
        (( explicit )) && not_running+=("$b")
        continue
    fi
    (
        passed=0 failed=0
        eval "$out"
        # openbao's kubernetes check needs the kube token too
        if [[ "$b" == openbao ]] && kenv="$("$here/kube.sh" env ${instance:+"$instance"} 2>/dev/null)"; then eval "$kenv"; fi
        "smoke_$b"
        echo "$passed $failed" >"${TMPDIR:-/tmp}/eso-smoke.$$.$b"
    )
    read -r p f <"${TMPDIR:-/tmp}/eso-smoke.$$.$b"
    rm -f "${TMPDIR:-/tmp}/eso-smoke.$$.$b"
    passed=$((passed + p)); failed=$((failed + f))
done
for b in "${not_running[@]}"; do
    failed=$((failed + 1)); echo "FAIL $b: not running (start it with: scripts/backends/$b.sh start${instance:+ $instance})"
done
echo "$passed passed, $failed failed"
(( failed == 0 ))
