#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# moto server (the AWS provider's backend): `moto[server]` from PyPI in a venv
# in the cache, one server on a free loopback port serving every AWS service
# moto emulates (Secrets Manager, SSM Parameter Store, ECR, STS, IAM, ...).
#
# usage: scripts/backends/moto.sh start|stop|env|status|install [instance]
#
# Exports AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION (+ AWS_DEFAULT_REGION, AWS_EC2_METADATA_DISABLED=true so SDKs
# never look for instance metadata) and MOTO_ACCOUNT_ID (moto's default
# account). moto accepts any credentials; POST $AWS_ENDPOINT_URL/moto-api/reset
# wipes all state.
set -euo pipefail
BACKEND=moto
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOTO_VERSION="${ESO_MOTO_VERSION:-5.2.5}"

venv_dir() { echo "$INSTALL_DIR/$MOTO_VERSION"; }

backend_install() {
    local dest
    dest="$(venv_dir)"
    if [[ -x "$dest/bin/moto_server" && -f "$dest/.installed" ]]; then
        return 0
    fi
    log "installing moto[server]==$MOTO_VERSION from PyPI into a venv"
    mkdir -p "$INSTALL_DIR"
    # Built at its final path (venvs are not relocatable); `.installed` marks
    # a finished install, so an interrupted one is redone.
    rm -rf "$dest"
    python3 -m venv "$dest"
    "$dest/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" >&2
    touch "$dest/.installed"
}

backend_start() {
    local port
    port="$(free_port)"
    # Run in the instance directory: moto writes its request recording (moto_recording) to the cwd.
    spawn env -C "$RUN_DIR" "$(venv_dir)/bin/moto_server" -H 127.0.0.1 -p "$port"
    env_set AWS_ENDPOINT_URL "http://127.0.0.1:$port"
    env_set AWS_ACCESS_KEY_ID test
    env_set AWS_SECRET_ACCESS_KEY test
    env_set AWS_REGION us-east-1
    env_set AWS_DEFAULT_REGION us-east-1
    env_set AWS_EC2_METADATA_DISABLED true
    env_set MOTO_ACCOUNT_ID 123456789012
}

backend_healthy() {
    curl -fsS --max-time 2 "$AWS_ENDPOINT_URL/moto-api/data.json" >/dev/null
}

backend_main "$@"
