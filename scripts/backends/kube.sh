#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A real Kubernetes control plane for the kubernetes provider and for
# OpenBao's kubernetes auth: kube-apiserver and etcd, both compiled from the
# Kubernetes / etcd release modules fetched through the Go module proxy (no
# kubelet, scheduler or controller-manager: no pods run, but every API,
# ServiceAccount tokens (TokenRequest), TokenReview, SubjectAccessReview, RBAC
# and CRDs work).
#
# usage: scripts/backends/kube.sh start|stop|env|status|install [instance]
#
# Generated per instance with openssl: a CA, the serving certificate
# (127.0.0.1, localhost, kubernetes.default.svc...), an admin client
# certificate (O=system:masters) and the service-account signing key pair.
# After start the script creates, through the API:
#   ServiceAccount default/eso (a token for it: KUBE_SA_TOKEN, audience = API)
#   ServiceAccount kube-system/token-reviewer bound to system:auth-delegator
#     (KUBE_TOKEN_REVIEWER_TOKEN: what OpenBao's kubernetes auth needs)
#
# Exports KUBECONFIG (admin, client certificate), KUBE_API_SERVER,
# KUBE_CA_CERT, KUBE_ADMIN_TOKEN (static bearer token, system:masters),
# KUBE_SA_ISSUER, KUBE_SA_NAMESPACE, KUBE_SA_NAME, KUBE_SA_TOKEN,
# KUBE_TOKEN_REVIEWER_TOKEN, KUBE_ETCD_ENDPOINT.
#
# The build is the slow part of a cold install (kube-apiserver: ~7 min on 2
# cores); it is cached under $ESO_BACKENDS_CACHE/install/kube/<version>.
set -euo pipefail
BACKEND=kube
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBE_VERSION="${ESO_KUBE_VERSION:-1.37.2}"
# Service ClusterIPs are only allocated, never routed (no kube-proxy, no
# nodes); a loopback range keeps every address this setup names on loopback.
SERVICE_CIDR="${ESO_KUBE_SERVICE_CIDR:-127.64.0.0/24}"
SA_ISSUER="https://kubernetes.default.svc.cluster.local"

bin_dir() { echo "$INSTALL_DIR/$KUBE_VERSION/bin"; }

backend_install() {
    local dest="$INSTALL_DIR/$KUBE_VERSION"
    if [[ -x "$dest/bin/kube-apiserver" && -x "$dest/bin/etcd" ]]; then
        return 0
    fi
    command -v go >/dev/null || die "go is needed to build kube-apiserver and etcd (Go toolchain not found)"
    log "building kube-apiserver v$KUBE_VERSION and etcd from the Go module proxy (several minutes on a cold cache)"
    local src="$dest/src"
    rm -rf "$dest"
    mkdir -p "$src/cmd/etcd"
    # k8s.io/kubernetes replaces its k8s.io/* staging modules with local
    # directories, so `go install k8s.io/kubernetes/cmd/kube-apiserver@v...`
    # is refused; a small module that requires it and points every staging
    # module at its published v0.x release builds the same binary.
    local kmod
    kmod="$(cd "$src" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
    local gover staging_ver="v0.${KUBE_VERSION#1.}"
    gover="$(awk '$1 == "go" { print $2; exit }' "$kmod")"
    {
        echo "module eso-rs.test/kube-backend"
        echo
        echo "go $gover"
        echo
        echo "require k8s.io/kubernetes v$KUBE_VERSION"
        echo
        echo "replace ("
        awk -v v="$staging_ver" '$1 ~ /^k8s\.io\// && $2 == "=>" && $3 ~ /^\.\/staging\// { print "\t" $1 " => " $1 " " v }' "$kmod"
        echo ")"
    } >"$src/go.mod"
    cat >"$src/tools.go" <<'EOF'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOF
    # etcd's own main package lives in a module that also uses local
    # replaces; its whole body is this call.
    cat >"$src/cmd/etcd/main.go" <<'EOF'
// Command etcd runs the etcd server from go.etcd.io/etcd/server/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
    local t0=$SECONDS
    (
        cd "$src"
        export GOFLAGS=-mod=mod CGO_ENABLED=0
        go mod tidy >&2
        # What hack/lib/version.sh stamps into release builds (for /version).
        local ldflags="-s -w" pkg minor="${KUBE_VERSION#1.}"
        minor="${minor%%.*}"
        for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            ldflags+=" -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
            ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
        done
        # The etcd server module version follows what Kubernetes uses.
        go build -trimpath -ldflags="$ldflags" -o "$src/out/" \
            k8s.io/kubernetes/cmd/kube-apiserver ./cmd/etcd >&2
    )
    mkdir -p "$dest/bin"
    mv "$src/out/kube-apiserver" "$src/out/etcd" "$dest/bin/"
    "$dest/bin/kube-apiserver" --version >&2
    log "built in $(( SECONDS - t0 ))s"
}

gen_pki() {
    local d="$RUN_DIR/pki"
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" \
        -days 3650 -subj "/CN=eso-rs kube test CA ($INSTANCE)" 2>/dev/null
    # serving certificate
    openssl req -newkey rsa:2048 -nodes -keyout "$d/apiserver.key" -out "$d/apiserver.csr" \
        -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\n' \
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
        "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" >"$d/apiserver.ext"
    openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/apiserver.crt" -days 3650 -extfile "$d/apiserver.ext" 2>/dev/null
    # admin client certificate
    openssl req -newkey rsa:2048 -nodes -keyout "$d/admin.key" -out "$d/admin.csr" \
        -subj "/O=system:masters/CN=eso-admin" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
        "extendedKeyUsage=clientAuth" >"$d/client.ext"
    openssl x509 -req -in "$d/admin.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/admin.crt" -days 3650 -extfile "$d/client.ext" 2>/dev/null
    # service-account token signing keys
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/sa.key" 2>/dev/null
    openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub"
    # static admin token
    ADMIN_TOKEN="$(openssl rand -hex 24)"
    printf '%s,eso-admin-token,eso-admin-token,system:masters\n' "$ADMIN_TOKEN" >"$d/tokens.csv"
}

write_kubeconfig() {
    local d="$RUN_DIR/pki" server="$1"
    cat >"$RUN_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: eso-$INSTANCE
  cluster:
    server: $server
    certificate-authority-data: $(openssl base64 -A <"$d/ca.crt")
users:
- name: eso-admin
  user:
    client-certificate-data: $(openssl base64 -A <"$d/admin.crt")
    client-key-data: $(openssl base64 -A <"$d/admin.key")
contexts:
- name: eso-$INSTANCE
  context:
    cluster: eso-$INSTANCE
    user: eso-admin
    namespace: default
current-context: eso-$INSTANCE
EOF
}

backend_start() {
    local etcd_port etcd_peer_port api_port d="$RUN_DIR/pki"
    etcd_port="$(free_port)"
    etcd_peer_port="$(free_port)"
    api_port="$(free_port)"
    gen_pki
    spawn_aux etcd "$(bin_dir)/etcd" --name eso --data-dir "$RUN_DIR/etcd-data" \
        --listen-client-urls "http://127.0.0.1:$etcd_port" \
        --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
        --initial-cluster "eso=http://127.0.0.1:$etcd_peer_port" \
        --quota-backend-bytes 1073741824 --unsafe-no-fsync
    local i
    for i in $(seq 1 100); do
        if curl -fsS --max-time 1 "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"'; then break; fi
        if (( i == 100 )); then
            tail -n 40 "$RUN_DIR/etcd.log" >&2 || true
            die "etcd did not become healthy; log: $RUN_DIR/etcd.log"
        fi
        sleep 0.2
    done
    spawn "$(bin_dir)/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
        --tls-cert-file "$d/apiserver.crt" --tls-private-key-file "$d/apiserver.key" \
        --client-ca-file "$d/ca.crt" --token-auth-file "$d/tokens.csv" \
        --service-account-issuer "$SA_ISSUER" \
        --service-account-signing-key-file "$d/sa.key" --service-account-key-file "$d/sa.pub" \
        --service-cluster-ip-range "$SERVICE_CIDR" \
        --authorization-mode RBAC --endpoint-reconciler-type none \
        --enable-priority-and-fairness=false --profiling=false \
        --cert-dir "$RUN_DIR/apiserver-certs"
    local server="https://127.0.0.1:$api_port"
    write_kubeconfig "$server"
    env_set KUBECONFIG "$RUN_DIR/kubeconfig"
    env_set KUBE_API_SERVER "$server"
    env_set KUBE_CA_CERT "$d/ca.crt"
    env_set KUBE_ADMIN_TOKEN "$ADMIN_TOKEN"
    env_set KUBE_SA_ISSUER "$SA_ISSUER"
    env_set KUBE_ETCD_ENDPOINT "http://127.0.0.1:$etcd_port"
}

backend_healthy() {
    curl -fsS --max-time 2 --cacert "$KUBE_CA_CERT" -H "Authorization: Bearer $KUBE_ADMIN_TOKEN" \
        "$KUBE_API_SERVER/readyz" | grep -q '^ok'
}

# kapi METHOD PATH [JSON body]: call the API as admin, print the response.
kapi() {
    local args=(-fsS --max-time 20 --cacert "$KUBE_CA_CERT" -H "Authorization: Bearer $KUBE_ADMIN_TOKEN"
        -X "$1" "$KUBE_API_SERVER$2")
    if [[ $# -ge 3 ]]; then args+=(-H 'Content-Type: application/json' -d "$3"); fi
    curl "${args[@]}"
}

json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d'"$1"')'; }

backend_after_start() {
    # The default namespace and the bootstrap RBAC roles appear a moment after /readyz.
    local i
    for i in $(seq 1 100); do
        if kapi GET /api/v1/namespaces/default >/dev/null 2>&1 &&
            kapi GET /apis/rbac.authorization.k8s.io/v1/clusterroles/system:auth-delegator >/dev/null 2>&1; then
            break
        fi
        (( i == 100 )) && { log "default namespace / bootstrap RBAC never appeared"; return 1; }
        sleep 0.2
    done
    kapi POST /api/v1/namespaces/default/serviceaccounts '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"eso"}}' >/dev/null
    kapi POST /api/v1/namespaces/kube-system/serviceaccounts '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"token-reviewer"}}' >/dev/null
    kapi POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"eso-token-reviewer"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:auth-delegator"},"subjects":[{"kind":"ServiceAccount","name":"token-reviewer","namespace":"kube-system"}]}' >/dev/null
    local day='{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":86400}}'
    env_set KUBE_SA_NAMESPACE default
    env_set KUBE_SA_NAME eso
    env_set KUBE_SA_TOKEN "$(kapi POST /api/v1/namespaces/default/serviceaccounts/eso/token "$day" | json_field '["status"]["token"]')"
    env_set KUBE_TOKEN_REVIEWER_TOKEN "$(kapi POST /api/v1/namespaces/kube-system/serviceaccounts/token-reviewer/token "$day" | json_field '["status"]["token"]')"
}

backend_main "$@"
