#!/usr/bin/env bash
# Start, stop or print the environment of several backends at once.
#
# usage: scripts/backends/all.sh start|stop|env|status [instance]
#
# ESO_BACKENDS selects the backends (default: "kube openbao moto gcp azure infisical onepassword generators helm";
# azure, infisical and onepassword are the project's own test servers, built from this workspace;
# generators the project's test server of the generators' token services;
# helm is the Helm client the chart tests run, a build and no server; `eso`, ESO's own
# controller for eso-operator/tests/beside_eso.rs, is another build and not in the default).
# start: kube's slow cold build runs in the background while the others
# install and start; kube starts before openbao so that OpenBao's kubernetes
# auth gets configured against it. A backend that fails does not stop the
# others; the exit status is non-zero if any failed. The `export` lines of all
# started backends go to stdout and to $ESO_BACKENDS_ENV_DIR/.env.backends
# (default: the repository root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
export ESO_BACKENDS_ENV_DIR ESO_BACKENDS_CACHE
read -r -a selected <<<"${ESO_BACKENDS:-kube openbao moto gcp azure infisical onepassword generators helm}"
cmd="${1:-}"
instance="${2:-}"

has() {
    local b
    for b in "${selected[@]}"; do [[ "$b" == "$1" ]] && return 0; done
    return 1
}

failed=()

# Combined exports of the running backends, without the per-file
# ESO_BACKEND/ESO_BACKEND_INSTANCE markers.
combined_env() {
    local b out
    for b in "${selected[@]}"; do
        if out="$("$here/$b.sh" env ${instance:+"$instance"} 2>/dev/null)"; then
            printf '# %s\n' "$b"
            grep -v -E '^export ESO_BACKEND(_INSTANCE)?=' <<<"$out"
        fi
    done
}

# Each of the project's own HTTPS test servers that trust-by-bundle (azure, infisical,
# onepassword) exports
# SSL_CERT_FILE / REQUESTS_CA_BUNDLE as the system roots plus its own CA; the last one would
# win. This writes one bundle with the system roots and every started server's CA, exported
# last so it is the one clients read.
one_ca_bundle() {
    local cas=() var path bundle
    for var in AZURE_KEYVAULT_CA_FILE INFISICAL_CA_FILE OP_CONNECT_CA_FILE; do
        path="$(combined_env | sed -n "s/^export $var=//p" | tail -n 1 | tr -d "'\"")"
        [[ -n "$path" && -f "$path" ]] && cas+=("$path")
    done
    (( ${#cas[@]} > 1 )) || return 0
    bundle="${XDG_CACHE_HOME:-$HOME/.cache}/eso-rs/backends/run/all-ca-bundle${instance:+-$instance}.pem"
    mkdir -p "$(dirname "$bundle")"
    ca_bundle "$bundle" "${cas[@]}"
    printf '# one CA bundle for every test server\nexport SSL_CERT_FILE=%s\nexport REQUESTS_CA_BUNDLE=%s\n' "$bundle" "$bundle"
}

case "$cmd" in
    start)
        kube_install_pid=""
        if has kube; then
            "$here/kube.sh" install >&2 &
            kube_install_pid=$!
        fi
        for b in helm eso moto gcp azure infisical onepassword generators; do
            has "$b" || continue
            "$here/$b.sh" start ${instance:+"$instance"} >/dev/null || failed+=("$b")
        done
        if [[ -n "$kube_install_pid" ]]; then
            if wait "$kube_install_pid"; then
                "$here/kube.sh" start ${instance:+"$instance"} >/dev/null || failed+=(kube)
            else
                failed+=(kube)
            fi
        fi
        if has openbao; then
            "$here/openbao.sh" start ${instance:+"$instance"} >/dev/null || failed+=(openbao)
        fi
        file="$ESO_BACKENDS_ENV_DIR/.env.backends${instance:+.$instance}"
        { combined_env; one_ca_bundle; } | tee "$file"
        if (( ${#failed[@]} )); then
            echo "[all] failed to start: ${failed[*]} (see the messages above)" >&2
            exit 1
        fi
        ;;
    stop)
        # openbao first: it may be configured against kube.
        for b in openbao moto gcp azure infisical onepassword generators helm eso kube; do
            has "$b" || continue
            "$here/$b.sh" stop ${instance:+"$instance"} || failed+=("$b")
        done
        rm -f "$ESO_BACKENDS_ENV_DIR/.env.backends${instance:+.$instance}"
        (( ${#failed[@]} == 0 )) || exit 1
        ;;
    env)
        combined_env
        one_ca_bundle
        for b in "${selected[@]}"; do
            "$here/$b.sh" status ${instance:+"$instance"} >/dev/null 2>&1 || failed+=("$b")
        done
        if (( ${#failed[@]} )); then
            echo "[all] not running: ${failed[*]} (start with: scripts/backends/all.sh start${instance:+ $instance})" >&2
            exit 1
        fi
        ;;
    status)
        rc=0
        for b in "${selected[@]}"; do
            "$here/$b.sh" status ${instance:+"$instance"} || rc=1
        done
        exit "$rc"
        ;;
    *)
        echo "usage: scripts/backends/all.sh start|stop|env|status [instance]   (ESO_BACKENDS=\"kube openbao moto gcp azure infisical onepassword generators helm\" by default)" >&2
        exit 2
        ;;
esac
