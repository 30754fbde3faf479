#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# GCP Secret Manager emulator: drongo ("the moto for GCP", PyPI `drongo`) in a
# venv in the cache, `drongo server` on a free loopback port. It serves the
# Secret Manager v1 REST API (JSON, camelCase like the real service) under
# /v1/projects/*/secrets...; no gRPC. Any project name works and no
# credentials are checked.
#
# usage: scripts/backends/gcp.sh start|stop|env|status|install [instance]
#
# Exports GCP_SECRET_MANAGER_REST_ENDPOINT (http://127.0.0.1:PORT, the REST
# root: requests go to $GCP_SECRET_MANAGER_REST_ENDPOINT/v1/projects/...),
# CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER (gcloud), GOOGLE_CLOUD_PROJECT
# and GCP_PROJECT_ID (a project name for tests), GCP_EMULATOR_RESET_URL (POST
# there wipes all state) and GCP_SECRET_MANAGER_EMULATOR (`drongo`).
#
# What drongo does not do (see README.md, "gcp"): the `filter` and
# `pageSize`/`pageToken` parameters of list calls are ignored (everything is
# returned, one page), PATCH replaces labels whatever the updateMask, no
# annotations/etag checks/dataCrc32c, a ':' in the path must not be
# percent-encoded, and `latest` means the newest ENABLED version.
#
# Alternative: ESO_GCP_EMULATOR_BIN=/path/to/server-dual runs the
# blackwell-systems gcp-secret-manager-emulator (gRPC + REST) instead; it is
# not obtainable from the registries reachable here, so it is never installed
# by this script. In that mode GCP_SECRET_MANAGER_EMULATOR_HOST and
# SECRET_MANAGER_EMULATOR_HOST (gRPC, host:port, plaintext) are exported too.
set -euo pipefail
BACKEND=gcp
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DRONGO_VERSION="${ESO_DRONGO_VERSION:-0.8.0}"
GCP_PROJECT="${ESO_GCP_PROJECT:-eso-test}"

venv_dir() { echo "$INSTALL_DIR/drongo-$DRONGO_VERSION"; }

backend_install() {
    if [[ -n "${ESO_GCP_EMULATOR_BIN:-}" ]]; then
        [[ -x "$ESO_GCP_EMULATOR_BIN" ]] || die "ESO_GCP_EMULATOR_BIN=$ESO_GCP_EMULATOR_BIN is not an executable"
        return 0
    fi
    local dest
    dest="$(venv_dir)"
    if [[ -x "$dest/bin/drongo" && -f "$dest/.installed" ]]; then
        return 0
    fi
    log "installing drongo==$DRONGO_VERSION from PyPI into a venv"
    mkdir -p "$INSTALL_DIR"
    # Built at its final path (venvs are not relocatable); `.installed` marks
    # a finished install, so an interrupted one is redone.
    rm -rf "$dest"
    python3 -m venv "$dest"
    "$dest/bin/python" -m pip install --quiet --disable-pip-version-check \
        "drongo==$DRONGO_VERSION" >&2
    touch "$dest/.installed"
}

backend_start() {
    local http_port grpc_port
    http_port="$(free_port)"
    if [[ -n "${ESO_GCP_EMULATOR_BIN:-}" ]]; then
        grpc_port="$(free_port)"
        # server-dual listens on all interfaces (":port"); clients use 127.0.0.1.
        spawn "$ESO_GCP_EMULATOR_BIN" --grpc-port "$grpc_port" --http-port "$http_port"
        env_set GCP_SECRET_MANAGER_EMULATOR server-dual
        env_set GCP_SECRET_MANAGER_EMULATOR_HOST "127.0.0.1:$grpc_port"
        env_set SECRET_MANAGER_EMULATOR_HOST "127.0.0.1:$grpc_port"
    else
        PYTHONUNBUFFERED=1 spawn "$(venv_dir)/bin/drongo" server --host 127.0.0.1 --port "$http_port"
        env_set GCP_SECRET_MANAGER_EMULATOR drongo
        env_set GCP_EMULATOR_RESET_URL "http://127.0.0.1:$http_port/drongo/reset"
    fi
    env_set GCP_SECRET_MANAGER_REST_ENDPOINT "http://127.0.0.1:$http_port"
    env_set CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER "http://127.0.0.1:$http_port/"
    env_set GOOGLE_CLOUD_PROJECT "$GCP_PROJECT"
    env_set GCP_PROJECT_ID "$GCP_PROJECT"
}

backend_healthy() {
    if [[ "$GCP_SECRET_MANAGER_EMULATOR" == drongo ]]; then
        curl -fsS --max-time 2 "$GCP_SECRET_MANAGER_REST_ENDPOINT/drongo/health" >/dev/null
    else
        port_open "${GCP_SECRET_MANAGER_EMULATOR_HOST##*:}" &&
            curl -fsS --max-time 2 "$GCP_SECRET_MANAGER_REST_ENDPOINT/health" >/dev/null
    fi &&
        curl -fsS --max-time 2 "$GCP_SECRET_MANAGER_REST_ENDPOINT/v1/projects/$GCP_PROJECT_ID/secrets" >/dev/null
}

backend_main "$@"
