#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Azure Key Vault: the project's own data-plane test server
# (tools/keyvault-test-server, built here with cargo from this workspace), over
# HTTPS with a certificate from a CA generated per instance. It also serves an
# Entra ID token endpoint (client credentials with a client secret) on the same
# listener, so the authority host and the vault URL share one origin.
#
# usage: scripts/backends/azure.sh start|stop|env|status|install [instance]
#
# Exports the variables the Azure SDKs know:
#   AZURE_KEYVAULT_URL     https://localhost:<port> (the vault)
#   AZURE_AUTHORITY_HOST   https://localhost:<port> (token endpoint /<tenant>/oauth2/v2.0/token)
#   AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET  (a registered client)
#   AZURE_EXPIRED_CLIENT_ID, AZURE_EXPIRED_CLIENT_SECRET   (a client whose secret is expired)
#   AZURE_FEDERATED_CLIENT_ID, AZURE_FEDERATED_SUBJECT     (workload identity: a client that
#                          accepts ServiceAccount-token assertions with that subject)
#   AZURE_KEYVAULT_CA_FILE (PEM of the per-instance CA)
#   SSL_CERT_FILE, REQUESTS_CA_BUNDLE (a bundle: the system roots plus that CA)
#   AZURE_TEST_CERT_PEM, AZURE_TEST_CERT_P12 (a certificate with its key, PEM and PKCS#12 without
#                          password, for the cert/ tests)
#   AZURE_TEST_IDENTITY_ENDPOINT, AZURE_TEST_IDENTITY_HEADER (the App Service managed-identity
#                          endpoint and its secret: set them as IDENTITY_ENDPOINT / IDENTITY_HEADER)
#   AZURE_CERT_CLIENT_ID   (a client whose credential is the certificate of AZURE_TEST_CERT_PEM)
#   AZURE_PYTHON           (a venv python with azure-keyvault-secrets and azure-identity, for smoke.sh)
set -euo pipefail
BACKEND=azure
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY_PACKAGES=(azure-keyvault-secrets azure-identity)
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"

server_bin() { echo "$INSTALL_DIR/bin/keyvault-test-server"; }

backend_install() {
    mkdir -p "$INSTALL_DIR/bin"
    # The server is a member of this workspace: build it (incremental, quick
    # when nothing changed) and copy the binary out of the target directory.
    log "building keyvault-test-server"
    (cd "$REPO_ROOT" && cargo build --quiet -p keyvault-test-server) >&2
    cp "$TARGET_DIR/debug/keyvault-test-server" "$(server_bin).tmp"
    mv "$(server_bin).tmp" "$(server_bin)"
    if [[ ! -x "$INSTALL_DIR/venv/bin/python" ]] ||
        ! "$INSTALL_DIR/venv/bin/python" -c 'import azure.keyvault.secrets, azure.identity' 2>/dev/null; then
        log "installing ${PY_PACKAGES[*]} into $INSTALL_DIR/venv (for the smoke test)"
        rm -rf "$INSTALL_DIR/venv"
        python3 -m venv "$INSTALL_DIR/venv"
        "$INSTALL_DIR/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "${PY_PACKAGES[@]}" >&2
    fi
}

gen_tls() {
    local d="$RUN_DIR/tls"
    localhost_tls azure
    # A certificate with its key for the cert/ tests: PEM (both) and password-less PKCS#12.
    cat "$d/server.crt" "$d/server.key" >"$d/test-cert.pem"
    openssl pkcs12 -export -in "$d/server.crt" -inkey "$d/server.key" -passout pass: \
        -out "$d/test-cert.p12" 2>/dev/null
}

backend_start() {
    local port tenant
    tenant="7e5a0000-0000-4000-8000-000000000001"
    port="$(free_port)"
    gen_tls
    spawn "$(server_bin)" --addr "127.0.0.1:$port" \
        --cert "$RUN_DIR/tls/server.crt" --key "$RUN_DIR/tls/server.key" \
        --tenant "$tenant" --client "eso-test:eso-test-secret" \
        --expired-client "eso-expired:eso-expired-secret" \
        --federated "eso-workload=system:serviceaccount:default:eso" \
        --cert-client "eso-cert=$RUN_DIR/tls/server.crt" --msi-secret eso-msi-secret
    env_set AZURE_KEYVAULT_URL "https://localhost:$port"
    env_set AZURE_AUTHORITY_HOST "https://localhost:$port"
    env_set AZURE_TENANT_ID "$tenant"
    env_set AZURE_CLIENT_ID eso-test
    env_set AZURE_CLIENT_SECRET eso-test-secret
    env_set AZURE_EXPIRED_CLIENT_ID eso-expired
    env_set AZURE_EXPIRED_CLIENT_SECRET eso-expired-secret
    env_set AZURE_FEDERATED_CLIENT_ID eso-workload
    env_set AZURE_FEDERATED_SUBJECT system:serviceaccount:default:eso
    env_set AZURE_KEYVAULT_CA_FILE "$RUN_DIR/tls/ca.crt"
    env_set AZURE_CERT_CLIENT_ID eso-cert
    # Not IDENTITY_ENDPOINT itself: that would switch every Azure SDK client in the test
    # environment to managed identity. Tests set it on the processes that want it.
    env_set AZURE_TEST_IDENTITY_ENDPOINT "https://localhost:$port/msi/token"
    env_set AZURE_TEST_IDENTITY_HEADER eso-msi-secret
    env_set AZURE_TEST_CERT_PEM "$RUN_DIR/tls/test-cert.pem"
    env_set AZURE_TEST_CERT_P12 "$RUN_DIR/tls/test-cert.p12"
    env_set SSL_CERT_FILE "$RUN_DIR/tls/bundle.pem"
    env_set REQUESTS_CA_BUNDLE "$RUN_DIR/tls/bundle.pem"
    env_set AZURE_PYTHON "$INSTALL_DIR/venv/bin/python"
}

backend_healthy() {
    curl -fsS --max-time 2 --cacert "$AZURE_KEYVAULT_CA_FILE" "$AZURE_KEYVAULT_URL/_test/healthz" >/dev/null
}

backend_main "$@"
