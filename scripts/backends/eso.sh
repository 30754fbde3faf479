#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ESO's own controller (the Go External Secrets Operator), for the "Beside
# ESO" test (eso-operator/tests/beside_eso.rs): compiled with the machine's Go
# and cached under $ESO_BACKENDS_CACHE/install/eso/<version>/ with ESO's CRDs
# of the same release next to it.
#
# usage: scripts/backends/eso.sh start|stop|env|status|install [instance]
#
# Like helm.sh this is a build, not a server (the test runs the controller
# itself, against the kube backend): `start` installs (cached, under a lock),
# writes the env file and prints
#   export ESO_BIN=<path of the controller binary>
#   export ESO_CRDS_DIR=<directory of ESO's CRD manifests>
#   export ESO_VERSION=<version>
# `stop` only removes the env file; `status` says whether it is installed.
#
# Where the source comes from: v1.3.2 is the newest release the Go module
# proxy serves as a module of github.com/external-secrets/external-secrets
# (`go list -m -versions github.com/external-secrets/external-secrets`; later
# tags are not Go-module versions). Its go.mod replaces ./apis, ./runtime and
# one module per provider and generator with local directories, and those
# nested modules are neither in the main module's zip nor published on their
# own, so `go install ...@v1.3.2` cannot build it. The script clones the
# release tag instead (ESO_GIT_URL, default the upstream repository; a local
# clone or mirror works too) and builds main.go there; every third-party
# module still comes through the Go module proxy and is checked by go.sum.
#
# ESO registers providers through build tags (pkg/register/*.go); its
# Makefile builds with -tags all_providers. The test only needs the `fake`
# provider, so the default is ESO_BUILD_TAGS=fake (a much shorter build);
# ESO_BUILD_TAGS=all_providers builds the release image's binary.
#
# ESO_ESO_VERSION overrides the version, ESO_BUILD_TAGS the build tags (both
# are part of the cache path).
set -euo pipefail
BACKEND=eso
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ESO_VERSION="${ESO_ESO_VERSION:-1.3.2}"
ESO_BUILD_TAGS="${ESO_BUILD_TAGS:-fake}"
ESO_GIT_URL="${ESO_GIT_URL:-https://github.com/external-secrets/external-secrets}"

install_dest() { echo "$INSTALL_DIR/$ESO_VERSION/${ESO_BUILD_TAGS// /_}"; }
eso_bin() { echo "$(install_dest)/bin/external-secrets"; }
crds_dir() { echo "$(install_dest)/crds"; }

backend_install() {
    local dest
    dest="$(install_dest)"
    if [[ -x "$dest/bin/external-secrets" && -d "$dest/crds" ]]; then
        return 0
    fi
    command -v go >/dev/null || die "go is needed to build ESO (Go toolchain not found)"
    command -v git >/dev/null || die "git is needed to fetch ESO's source"
    log "building ESO v$ESO_VERSION (tags: $ESO_BUILD_TAGS) from $ESO_GIT_URL (minutes on a cold cache)"
    local tmp t0=$SECONDS
    mkdir -p "$INSTALL_DIR/$ESO_VERSION"
    tmp="$(mktemp -d "$INSTALL_DIR/.build.XXXXXX")"
    git -c advice.detachedHead=false clone --quiet --depth 1 --branch "v$ESO_VERSION" "$ESO_GIT_URL" "$tmp/src" >&2 ||
        { rm -rf "$tmp"; die "could not clone tag v$ESO_VERSION from $ESO_GIT_URL (set ESO_GIT_URL to a clone)"; }
    local t1=$SECONDS
    # ESO's Makefile builds main.go with only -tags (no version ldflags).
    (
        cd "$tmp/src"
        export GOFLAGS=-mod=mod CGO_ENABLED=0
        go build -trimpath -tags "$ESO_BUILD_TAGS" -ldflags "-s -w" \
            -o "$tmp/bin/external-secrets" . >&2
    ) || { rm -rf "$tmp"; die "go build of ESO v$ESO_VERSION failed"; }
    mkdir -p "$tmp/crds"
    cp "$tmp/src"/config/crds/bases/*.io_*.yaml "$tmp/crds/"
    rm -rf "$tmp/src"
    rm -rf "$dest"
    mv "$tmp" "$dest"
    log "built in $(( SECONDS - t0 ))s (clone $(( t1 - t0 ))s, build $(( SECONDS - t1 ))s)"
}

print_exports() {
    printf 'export ESO_BIN=%q\nexport ESO_CRDS_DIR=%q\nexport ESO_VERSION=%q\n' \
        "$(eso_bin)" "$(crds_dir)" "$ESO_VERSION"
}

eso_main() {
    local cmd="${1:-}" instance="${2:-default}"
    [[ "$instance" =~ ^[A-Za-z0-9][A-Za-z0-9-]*$ ]] || die "bad instance name '$instance'"
    INSTALL_DIR="$ESO_BACKENDS_CACHE/install/$BACKEND"
    local env_file="$ESO_BACKENDS_ENV_DIR/.env.backends.$BACKEND"
    [[ "$instance" == default ]] || env_file+=".$instance"
    case "$cmd" in
        start)
            mkdir -p "$ESO_BACKENDS_CACHE/install" "$ESO_BACKENDS_ENV_DIR"
            with_lock "$BACKEND" backend_install
            {
                printf 'ESO_BACKEND=%s\nESO_BACKEND_INSTANCE=%s\n' "$BACKEND" "$instance"
                print_exports | sed 's/^export //'
            } >"$env_file"
            printf 'export ESO_BACKEND=%s\nexport ESO_BACKEND_INSTANCE=%s\n' "$BACKEND" "$instance"
            print_exports
            ;;
        env)
            if [[ ! -x "$(eso_bin)" ]]; then
                die "ESO v$ESO_VERSION is not installed; install it with: scripts/backends/eso.sh start"
            fi
            printf 'export ESO_BACKEND=%s\nexport ESO_BACKEND_INSTANCE=%s\n' "$BACKEND" "$instance"
            print_exports
            ;;
        stop)
            rm -f "$env_file"
            log "env file removed ($instance); the cached binary stays"
            ;;
        status)
            if [[ -x "$(eso_bin)" ]]; then
                echo "eso ($instance): installed, $(eso_bin)"
                return 0
            fi
            echo "eso ($instance): not installed"
            return 3
            ;;
        install)
            mkdir -p "$ESO_BACKENDS_CACHE/install"
            with_lock "$BACKEND" backend_install
            ;;
        *) usage ;;
    esac
}

eso_main "$@"
