#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Helm v4, the client the chart tests run (`helm lint`, `helm template`):
# compiled with the machine's Go from the release module helm.sh/helm/v4
# fetched through the Go module proxy, cached under
# $ESO_BACKENDS_CACHE/install/helm/<version>/bin/helm.
#
# usage: scripts/backends/helm.sh start|stop|env|status|install [instance]
#
# Helm is a client, not a server: `start` installs (cached, under a lock),
# writes the env file and prints `export HELM=<path>`, like the other backend
# scripts print their variables; `stop` only removes the env file; `status`
# says whether the binary is installed. A second `start` takes well under a
# second (it only checks the binary). The instance argument is accepted for
# the same interface as the others and only names the env file.
#
# ESO_HELM_VERSION overrides the version (default: the newest v4 release the
# proxy served when this was written; `go list -m -versions helm.sh/helm/v4`
# lists them).
set -euo pipefail
BACKEND=helm
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM_VERSION="${ESO_HELM_VERSION:-4.3.2}"

helm_bin() { echo "$INSTALL_DIR/$HELM_VERSION/bin/helm"; }

backend_install() {
    local dest="$INSTALL_DIR/$HELM_VERSION"
    if [[ -x "$dest/bin/helm" ]]; then
        return 0
    fi
    command -v go >/dev/null || die "go is needed to build helm (Go toolchain not found)"
    log "building helm v$HELM_VERSION from the Go module proxy (a few minutes on a cold cache)"
    local tmp t0=$SECONDS
    mkdir -p "$INSTALL_DIR"
    tmp="$(mktemp -d "$INSTALL_DIR/.build.XXXXXX")"
    # helm.sh/helm/v4 has no replace directives, so `go install module@version`
    # builds the release as published; the ldflags are the ones its Makefile
    # sets for a release build (the version `helm version` prints).
    (
        export GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$tmp/bin"
        cd "$tmp"
        go install -trimpath \
            -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
            "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION" >&2
    ) || { rm -rf "$tmp"; die "go install of helm v$HELM_VERSION failed"; }
    "$tmp/bin/helm" version --short >&2
    rm -rf "$dest"
    mv "$tmp" "$dest"
    log "built in $(( SECONDS - t0 ))s"
}

helm_main() {
    local cmd="${1:-}" instance="${2:-default}"
    [[ "$instance" =~ ^[A-Za-z0-9][A-Za-z0-9-]*$ ]] || die "bad instance name '$instance'"
    INSTALL_DIR="$ESO_BACKENDS_CACHE/install/$BACKEND"
    local env_file="$ESO_BACKENDS_ENV_DIR/.env.backends.$BACKEND"
    [[ "$instance" == default ]] || env_file+=".$instance"
    case "$cmd" in
        start)
            mkdir -p "$ESO_BACKENDS_CACHE/install" "$ESO_BACKENDS_ENV_DIR"
            with_lock "$BACKEND" backend_install
            printf 'ESO_BACKEND=%s\nESO_BACKEND_INSTANCE=%s\nHELM=%q\n' \
                "$BACKEND" "$instance" "$(helm_bin)" >"$env_file"
            printf 'export ESO_BACKEND=%s\nexport ESO_BACKEND_INSTANCE=%s\nexport HELM=%q\n' \
                "$BACKEND" "$instance" "$(helm_bin)"
            ;;
        env)
            if [[ ! -x "$(helm_bin)" ]]; then
                die "helm v$HELM_VERSION is not installed; install it with: scripts/backends/helm.sh start"
            fi
            printf 'export ESO_BACKEND=%s\nexport ESO_BACKEND_INSTANCE=%s\nexport HELM=%q\n' \
                "$BACKEND" "$instance" "$(helm_bin)"
            ;;
        stop)
            rm -f "$env_file"
            log "env file removed ($instance); the cached binary stays"
            ;;
        status)
            if [[ -x "$(helm_bin)" ]]; then
                echo "helm ($instance): installed, $(helm_bin)"
                return 0
            fi
            echo "helm ($instance): not installed"
            return 3
            ;;
        install)
            mkdir -p "$ESO_BACKENDS_CACHE/install"
            with_lock "$BACKEND" backend_install
            ;;
        *) usage ;;
    esac
}

helm_main "$@"
