# shellcheck shell=bash
# Shared helpers for scripts/backends/*.sh. Sourced, never run directly.
#
# A backend script sets BACKEND (its name), defines the functions
#   backend_install          install idempotently into $INSTALL_DIR
#   backend_start            start the server (use spawn), fill the env file
#   backend_healthy          return 0 once the server answers
# and optionally backend_after_start (runs once healthy: mounts, seeds, ...)
# then calls `backend_main "$@"`.
#
# Layout (all outside the repo):
#   $ESO_BACKENDS_CACHE/install/<backend>/...      installed software (kept)
#   $ESO_BACKENDS_CACHE/run/<backend>-<instance>/  pid, log, env, data (per instance)
# The env file is also copied to $ESO_BACKENDS_ENV_DIR/.env.backends.<backend>[.<instance>]
# (default: the repository root, where .gitignore ignores it).

BACKENDS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BACKENDS_DIR/../.." && pwd)"
ESO_BACKENDS_CACHE="${ESO_BACKENDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eso-rs/backends}"
ESO_BACKENDS_ENV_DIR="${ESO_BACKENDS_ENV_DIR:-$REPO_ROOT}"
# Seconds to wait for a server to become healthy.
ESO_BACKENDS_TIMEOUT="${ESO_BACKENDS_TIMEOUT:-120}"

log() { printf '[%s] %s\n' "${BACKEND:-backends}" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${BACKEND:-backends}" "$*" >&2; exit 1; }

# A free TCP port on 127.0.0.1 (the kernel picks it; there is a small race
# between closing the probe socket and the server binding it).
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"; return
        fi
    done
    die "could not find a free port"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Run "$@" while holding an exclusive lock on $1's lock file (installs of one
# backend never run twice at once, e.g. from all.sh or parallel test jobs).
with_lock() {
    local name="$1"; shift
    mkdir -p "$ESO_BACKENDS_CACHE/locks"
    (
        flock -w 3600 9 || die "timed out waiting for lock $name"
        "$@"
    ) 9>"$ESO_BACKENDS_CACHE/locks/$name.lock"
}

# Start "$@" in the background in its own session, output to $LOG_FILE,
# pid to $PID_FILE. `stop` kills the whole process group.
spawn() {
    : >"$LOG_FILE"
    # setsid: new session and process group, so stop can signal the group and
    # the server survives the caller's shell.
    setsid "$@" >>"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
}

# Start a helper process (e.g. etcd next to kube-apiserver): output to
# $RUN_DIR/<name>.log, pid to $RUN_DIR/<name>.aux.pid; `stop` kills it after
# the main process.
spawn_aux() {
    local name="$1"; shift
    : >"$RUN_DIR/$name.log"
    setsid "$@" >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.aux.pid"
}

# Kill the process group led by the pid in file $1 (TERM, then KILL after 10s).
kill_pidfile() {
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        # Signal the process group created by setsid; fall back to the pid.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
            if (( i == 100 )); then
                log "pid $pid still running after 10s, sending SIGKILL"
                kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            fi
        done
    fi
    rm -f "$1"
}

pid_alive() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# The system's CA roots (the first bundle found) followed by the PEM files given, written to
# the file named first: for clients that read SSL_CERT_FILE / REQUESTS_CA_BUNDLE.
# usage: ca_bundle OUT CA_PEM...
ca_bundle() {
    local out="$1" sys
    shift
    : >"$out"
    for sys in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
        if [[ -f "$sys" ]]; then cat "$sys" >"$out"; break; fi
    done
    cat "$@" >>"$out"
}

# A CA made for this instance and a server certificate from it for localhost and
# 127.0.0.1, in $RUN_DIR/tls: ca.crt, ca.key, server.crt, server.key, and bundle.pem (the
# system roots plus that CA). RSA 2048, ten years: these live as long as the instance.
# usage: localhost_tls "NAME" (the CA's common name says "eso-rs NAME test CA")
localhost_tls() {
    local d="$RUN_DIR/tls"
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 \
        -subj "/CN=eso-rs $1 test CA ($INSTANCE)" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
        -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$d/ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/server.crt" -days 3650 -extfile "$d/ext" 2>/dev/null
    ca_bundle "$d/bundle.pem" "$d/ca.crt"
}

# Append `VAR=value` to the env file being built ($ENV_FILE.tmp).
env_set() {
    printf '%s=%q\n' "$1" "$2" >>"$ENV_FILE.tmp"
}

env_commit() {
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    mkdir -p "$ESO_BACKENDS_ENV_DIR"
    cp "$ENV_FILE" "$PUBLIC_ENV_FILE"
}

print_env() {
    local line
    while IFS= read -r line; do
        [[ -z "$line" || "$line" == \#* ]] && continue
        printf 'export %s\n' "$line"
    done <"$ENV_FILE"
}

# Load the env file of this instance into the current shell (for health
# checks and post-start setup).
load_env() {
    set -a
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    set +a
}

tail_log() {
    if [[ -f "$LOG_FILE" ]]; then
        printf -- '--- last lines of %s ---\n' "$LOG_FILE" >&2
        tail -n "${1:-40}" "$LOG_FILE" >&2
        printf -- '--- end of log ---\n' >&2
    fi
}

# Wait until backend_healthy succeeds; fail with a log tail on timeout or if
# the process died.
wait_healthy() {
    local deadline=$(( SECONDS + ESO_BACKENDS_TIMEOUT ))
    while (( SECONDS < deadline )); do
        if ! pid_alive; then
            tail_log 60
            do_stop >/dev/null 2>&1 || true
            die "$BACKEND ($INSTANCE) exited during startup; log: $LOG_FILE"
        fi
        if backend_healthy >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.3
    done
    tail_log 60
    do_stop >/dev/null 2>&1 || true
    die "$BACKEND ($INSTANCE) not healthy after ${ESO_BACKENDS_TIMEOUT}s; log: $LOG_FILE"
}

do_stop() {
    if [[ -f "$PID_FILE" ]]; then kill_pidfile "$PID_FILE"; fi
    local aux
    for aux in "$RUN_DIR"/*.aux.pid; do
        if [[ -f "$aux" ]]; then kill_pidfile "$aux"; fi
    done
    rm -f "$ENV_FILE" "$PUBLIC_ENV_FILE"
    log "stopped ($INSTANCE)"
}

do_start() {
    mkdir -p "$ESO_BACKENDS_CACHE/install" "$ESO_BACKENDS_CACHE/run"
    if pid_alive && [[ -f "$ENV_FILE" ]]; then
        load_env
        if backend_healthy >/dev/null 2>&1; then
            log "already running ($INSTANCE), pid $(cat "$PID_FILE")"
            cp "$ENV_FILE" "$PUBLIC_ENV_FILE"
            print_env
            return 0
        fi
        log "running but unhealthy ($INSTANCE); restarting"
    fi
    do_stop >/dev/null 2>&1 || true

    local t0=$SECONDS
    with_lock "$BACKEND" backend_install
    local t1=$SECONDS
    rm -rf "$RUN_DIR"
    mkdir -p "$RUN_DIR"
    : >"$ENV_FILE.tmp"
    env_set ESO_BACKEND "$BACKEND"
    env_set ESO_BACKEND_INSTANCE "$INSTANCE"
    backend_start
    env_commit
    load_env
    wait_healthy
    if declare -F backend_after_start >/dev/null; then
        if ! backend_after_start; then
            tail_log 40
            do_stop >/dev/null 2>&1 || true
            die "post-start setup of $BACKEND ($INSTANCE) failed"
        fi
        # backend_after_start may add variables with env_set
        if [[ -s "$ENV_FILE.tmp" ]]; then
            cat "$ENV_FILE.tmp" >>"$ENV_FILE"; rm -f "$ENV_FILE.tmp"
            cp "$ENV_FILE" "$PUBLIC_ENV_FILE"
        fi
    fi
    rm -f "$ENV_FILE.tmp"
    log "up ($INSTANCE): install/check $(( t1 - t0 ))s, start $(( SECONDS - t1 ))s, pid $(cat "$PID_FILE"), log $LOG_FILE"
    print_env
}

do_env() {
    if [[ ! -f "$ENV_FILE" ]] || ! pid_alive; then
        die "$BACKEND ($INSTANCE) is not running; start it with: scripts/backends/$BACKEND.sh start${INSTANCE_ARG:+ $INSTANCE_ARG}"
    fi
    print_env
}

do_status() {
    if pid_alive && [[ -f "$ENV_FILE" ]]; then
        load_env
        if backend_healthy >/dev/null 2>&1; then
            echo "$BACKEND ($INSTANCE): running, healthy, pid $(cat "$PID_FILE")"
            return 0
        fi
        echo "$BACKEND ($INSTANCE): running, NOT healthy, pid $(cat "$PID_FILE"), log $LOG_FILE"
        return 1
    fi
    echo "$BACKEND ($INSTANCE): not running"
    return 3
}

usage() {
    cat >&2 <<EOF
usage: scripts/backends/$BACKEND.sh start|stop|env|status|install [instance]

  start    install (cached) and start on a free loopback port, wait until
           healthy, write the env file, print 'export VAR=value' lines
  env      print the 'export VAR=value' lines of a running instance
  stop     stop the instance and remove its env file
  status   say whether the instance runs and is healthy
  install  only install (warm the cache)

instance: optional name (letters, digits, '-'), default 'default'; each
instance gets its own port, data, log and env file.
cache: \$ESO_BACKENDS_CACHE (now $ESO_BACKENDS_CACHE)
EOF
    exit 2
}

backend_main() {
    local cmd="${1:-}"
    INSTANCE_ARG="${2:-}"
    INSTANCE="${INSTANCE_ARG:-default}"
    [[ "$INSTANCE" =~ ^[A-Za-z0-9][A-Za-z0-9-]*$ ]] || die "bad instance name '$INSTANCE'"
    # shellcheck disable=SC2034 # used by the backend scripts
    INSTALL_DIR="$ESO_BACKENDS_CACHE/install/$BACKEND"
    RUN_DIR="$ESO_BACKENDS_CACHE/run/$BACKEND-$INSTANCE"
    PID_FILE="$RUN_DIR/pid"
    LOG_FILE="$RUN_DIR/server.log"
    ENV_FILE="$RUN_DIR/env"
    if [[ "$INSTANCE" == default ]]; then
        PUBLIC_ENV_FILE="$ESO_BACKENDS_ENV_DIR/.env.backends.$BACKEND"
    else
        PUBLIC_ENV_FILE="$ESO_BACKENDS_ENV_DIR/.env.backends.$BACKEND.$INSTANCE"
    fi
    case "$cmd" in
        start) do_start ;;
        stop) do_stop ;;
        env) do_env ;;
        status) do_status ;;
        install) mkdir -p "$ESO_BACKENDS_CACHE/install"; with_lock "$BACKEND" backend_install ;;
        *) usage ;;
    esac
}
