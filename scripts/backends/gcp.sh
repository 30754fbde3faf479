#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# GCP Secret Manager emulator: github.com/blackwell-systems/gcp-secret-manager-emulator
# (`server-dual`: the Secret Manager v1 gRPC API plus its REST/JSON mapping),
# installed with `go install` from the Go module proxy.
#
# usage: scripts/backends/gcp.sh start|stop|env|status|install [instance]
#
# STATUS: the Go module proxy reachable from this project's machines answers
# "403 Forbidden: This module version is not available" for this module (every
# version) and for every other Secret Manager emulator module we found, so
# `install` fails here with that explanation (see README.md, "GCP"). The
# script is complete for a machine that can fetch the module, or for a binary
# provided by hand: ESO_GCP_EMULATOR_BIN=/path/to/server-dual.
#
# Exports GCP_SECRET_MANAGER_EMULATOR_HOST (gRPC, host:port, plaintext),
# SECRET_MANAGER_EMULATOR_HOST (same value), GCP_SECRET_MANAGER_REST_ENDPOINT
# (http://host:port, REST v1), CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER
# (gcloud), GOOGLE_CLOUD_PROJECT and GCP_PROJECT_ID (a project name for tests;
# the emulator accepts any). No credentials are checked.
#
# Use the gRPC API from the provider: it is the canonical protocol. The REST
# gateway of v1.2.0 answers in snake_case JSON (create_time, ...), not the
# camelCase of the real REST API, so it is for curl checks only.
set -euo pipefail
BACKEND=gcp
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GCP_EMULATOR_MODULE="github.com/blackwell-systems/gcp-secret-manager-emulator"
# v1.2.0: the last release whose only dependencies are Google's own modules
# (v1.3.0 adds github.com/blackwell-systems/gcp-emulator-auth).
GCP_EMULATOR_VERSION="${ESO_GCP_EMULATOR_VERSION:-v1.2.0}"
GCP_PROJECT="${ESO_GCP_PROJECT:-eso-test}"

emulator_bin() {
    if [[ -n "${ESO_GCP_EMULATOR_BIN:-}" ]]; then
        echo "$ESO_GCP_EMULATOR_BIN"
    else
        echo "$INSTALL_DIR/$GCP_EMULATOR_VERSION/bin/server-dual"
    fi
}

backend_install() {
    if [[ -n "${ESO_GCP_EMULATOR_BIN:-}" ]]; then
        [[ -x "$ESO_GCP_EMULATOR_BIN" ]] || die "ESO_GCP_EMULATOR_BIN=$ESO_GCP_EMULATOR_BIN is not an executable"
        return 0
    fi
    local dest="$INSTALL_DIR/$GCP_EMULATOR_VERSION"
    if [[ -x "$dest/bin/server-dual" ]]; then
        return 0
    fi
    command -v go >/dev/null || die "go is needed to install the GCP emulator (Go toolchain not found)"
    log "installing $GCP_EMULATOR_MODULE/cmd/server-dual@$GCP_EMULATOR_VERSION with go install"
    rm -rf "$dest"
    mkdir -p "$dest/bin"
    local out
    if ! out="$(GOBIN="$dest/bin" GOFLAGS=-mod=mod CGO_ENABLED=0 \
        go install "$GCP_EMULATOR_MODULE/cmd/server-dual@$GCP_EMULATOR_VERSION" 2>&1)"; then
        printf '%s\n' "$out" >&2
        rm -rf "$dest"
        if grep -q '403 Forbidden' <<<"$out"; then
            die "the Go module proxy refuses $GCP_EMULATOR_MODULE ('not available'): no GCP Secret Manager emulator can be installed on this machine. See scripts/backends/README.md (GCP) for what was tried; set ESO_GCP_EMULATOR_BIN to a server-dual binary to use one obtained otherwise."
        fi
        die "go install of the GCP emulator failed (output above)"
    fi
}

backend_start() {
    local grpc_port http_port
    grpc_port="$(free_port)"
    http_port="$(free_port)"
    # server-dual listens on all interfaces (":port"); clients use 127.0.0.1.
    spawn "$(emulator_bin)" --grpc-port "$grpc_port" --http-port "$http_port"
    env_set GCP_SECRET_MANAGER_EMULATOR_HOST "127.0.0.1:$grpc_port"
    env_set SECRET_MANAGER_EMULATOR_HOST "127.0.0.1:$grpc_port"
    env_set GCP_SECRET_MANAGER_REST_ENDPOINT "http://127.0.0.1:$http_port"
    env_set CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER "http://127.0.0.1:$http_port/"
    env_set GOOGLE_CLOUD_PROJECT "$GCP_PROJECT"
    env_set GCP_PROJECT_ID "$GCP_PROJECT"
}

backend_healthy() {
    port_open "${GCP_SECRET_MANAGER_EMULATOR_HOST##*:}" &&
        curl -fsS --max-time 2 "$GCP_SECRET_MANAGER_REST_ENDPOINT/health" >/dev/null &&
        curl -fsS --max-time 2 "$GCP_SECRET_MANAGER_REST_ENDPOINT/v1/projects/$GCP_PROJECT_ID/secrets" >/dev/null
}

backend_main "$@"
