#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 1Password Connect: the project's own Connect API test server
# (tools/onepassword-test-server, built here with cargo from this workspace), over HTTPS with
# a certificate from a CA generated per instance. Three vaults (eso-primary, eso-secondary,
# eso-other), a token for every vault and one that sees eso-primary only.
#
# usage: scripts/backends/onepassword.sh start|stop|env|status|install [instance]
#
# Exports what 1Password's official Connect clients read plus what a store spec needs:
#   OP_CONNECT_HOST          https://localhost:<port> (a store's connectHost)
#   OP_CONNECT_TOKEN         a token for every vault
#   OP_CONNECT_LIMITED_TOKEN a token for eso-primary only (403 on the others)
#   OP_VAULTS                the vault names, comma-separated, in their intended search order
#   OP_CONNECT_CA_FILE       (PEM of the per-instance CA)
#   SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS  (the system roots plus that CA)
#   OP_PYTHON                (a venv python with onepasswordconnectsdk, for smoke.sh)
#   OP_NODE_MODULES          (a node_modules with @1password/connect, when npm is available)
set -euo pipefail
BACKEND=onepassword
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"

server_bin() { echo "$INSTALL_DIR/bin/onepassword-test-server"; }

backend_install() {
    mkdir -p "$INSTALL_DIR/bin"
    log "building onepassword-test-server"
    (cd "$REPO_ROOT" && cargo build --quiet -p onepassword-test-server) >&2
    cp "$TARGET_DIR/debug/onepassword-test-server" "$(server_bin).tmp"
    mv "$(server_bin).tmp" "$(server_bin)"
    if [[ ! -x "$INSTALL_DIR/venv/bin/python" ]] ||
        ! "$INSTALL_DIR/venv/bin/python" -c 'import onepasswordconnectsdk' 2>/dev/null; then
        log "installing onepasswordconnectsdk into $INSTALL_DIR/venv (for the smoke test)"
        rm -rf "$INSTALL_DIR/venv"
        python3 -m venv "$INSTALL_DIR/venv"
        "$INSTALL_DIR/venv/bin/python" -m pip install --quiet --disable-pip-version-check onepasswordconnectsdk >&2
    fi
    if command -v npm >/dev/null 2>&1 && [[ ! -d "$INSTALL_DIR/node/node_modules/@1password/connect" ]]; then
        log "installing @1password/connect into $INSTALL_DIR/node (for the smoke test)"
        mkdir -p "$INSTALL_DIR/node"
        (cd "$INSTALL_DIR/node" && npm install --silent --no-audit --no-fund @1password/connect >&2) ||
            log "npm could not install @1password/connect: the node smoke check will be skipped"
    fi
}

backend_start() {
    local port
    port="$(free_port)"
    localhost_tls "1password connect"
    spawn "$(server_bin)" --addr "127.0.0.1:$port" \
        --cert "$RUN_DIR/tls/server.crt" --key "$RUN_DIR/tls/server.key" \
        --vault eso-primary --vault eso-secondary --vault eso-other \
        --token eso-connect-token --token "eso-limited-token=eso-primary"
    env_set OP_CONNECT_HOST "https://localhost:$port"
    env_set OP_CONNECT_TOKEN eso-connect-token
    env_set OP_CONNECT_LIMITED_TOKEN eso-limited-token
    env_set OP_VAULTS eso-primary,eso-secondary,eso-other
    env_set OP_CONNECT_CA_FILE "$RUN_DIR/tls/ca.crt"
    env_set SSL_CERT_FILE "$RUN_DIR/tls/bundle.pem"
    env_set REQUESTS_CA_BUNDLE "$RUN_DIR/tls/bundle.pem"
    env_set NODE_EXTRA_CA_CERTS "$RUN_DIR/tls/ca.crt"
    env_set OP_PYTHON "$INSTALL_DIR/venv/bin/python"
    if [[ -d "$INSTALL_DIR/node/node_modules/@1password/connect" ]]; then
        env_set OP_NODE_MODULES "$INSTALL_DIR/node/node_modules"
    fi
}

backend_healthy() {
    curl -fsS --max-time 2 --cacert "$OP_CONNECT_CA_FILE" "$OP_CONNECT_HOST/heartbeat" >/dev/null
}

backend_main "$@"
