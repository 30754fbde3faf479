#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Infisical: the project's own API test server (tools/infisical-test-server, built
# here with cargo from this workspace), over HTTPS with a certificate from a CA
# generated per instance. One organization, one project with the environments dev
# and prod (folders /app and /app/db in dev), a machine identity with universal
# auth, a Kubernetes-auth identity and an access token for token auth.
#
# usage: scripts/backends/infisical.sh start|stop|env|status|install [instance]
#
# Exports what Infisical's official clients read plus what a store spec needs:
#   INFISICAL_API_URL                      https://localhost:<port>/api (a store's hostAPI)
#   INFISICAL_UNIVERSAL_AUTH_CLIENT_ID, INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET
#   INFISICAL_ORG_SLUG, INFISICAL_PROJECT_SLUG, INFISICAL_PROJECT_ID, INFISICAL_ENV_SLUG
#   INFISICAL_TOKEN_AUTH_TOKEN             (an access token, for token auth)
#   INFISICAL_SHORT_TTL_CLIENT_ID, INFISICAL_SHORT_TTL_CLIENT_SECRET  (universal auth whose
#                                          access tokens live 4 s: renewal tests)
#   INFISICAL_K8S_IDENTITY_ID, INFISICAL_K8S_SUBJECT  (Kubernetes auth: the identity, and the
#                                          ServiceAccount subject its token must carry)
#   INFISICAL_JWT_IDENTITY_ID, INFISICAL_JWT_SUBJECT  (JWT auth: the identity, the `sub` it accepts)
#   INFISICAL_LDAP_IDENTITY_ID, INFISICAL_LDAP_USERNAME, INFISICAL_LDAP_PASSWORD  (LDAP auth)
#   INFISICAL_CLOUD_URL                    http://127.0.0.1:<port>: the server's stand-ins for Azure's
#                                          managed-identity endpoint, GCP's metadata server, Google's
#                                          token endpoint and IAM signJwt (cloud-identity logins)
#   INFISICAL_SIGNING_KEY_FILE             (RSA key, PKCS#8 PEM: the GCP service account's key and
#                                          the OCI API key the server verifies signatures with)
#   INFISICAL_SIGNING_KEY_PKCS1_FILE       (the same key as PKCS#1, "RSA PRIVATE KEY")
#   INFISICAL_AWS_IDENTITY_ID, INFISICAL_AWS_ACCESS_KEY_ID, INFISICAL_AWS_SECRET_ACCESS_KEY
#   INFISICAL_AWS_ROLE_IDENTITY_ID, INFISICAL_AWS_ROLE_ACCESS_KEY_ID,
#   INFISICAL_AWS_ROLE_SECRET_ACCESS_KEY  (the identity of the keys the STS and container-
#                                          credentials stand-ins hand out; the container
#                                          endpoint wants the token eso-pod-identity-token)
#   INFISICAL_AZURE_IDENTITY_ID            (accepts the stand-in's managed identity)
#   INFISICAL_GCP_ID_TOKEN_IDENTITY_ID     (accepts the stand-in metadata server's service account)
#   INFISICAL_GCP_IAM_IDENTITY_ID, INFISICAL_GCP_IAM_EMAIL  (the service account of the key)
#   INFISICAL_OCI_IDENTITY_ID, INFISICAL_OCI_TENANCY, INFISICAL_OCI_USER, INFISICAL_OCI_FINGERPRINT
#   INFISICAL_CA_FILE                      (PEM of the per-instance CA)
#   SSL_CERT_FILE, REQUESTS_CA_BUNDLE      (a bundle: the system roots plus that CA)
#   INFISICAL_PYTHON                       (a venv python with infisicalsdk and infisical-python,
#                                          for smoke.sh and the read-back in esoctl's tests)
set -euo pipefail
BACKEND=infisical
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"

server_bin() { echo "$INSTALL_DIR/bin/infisical-test-server"; }

backend_install() {
    mkdir -p "$INSTALL_DIR/bin"
    log "building infisical-test-server"
    (cd "$REPO_ROOT" && cargo build --quiet -p infisical-test-server) >&2
    cp "$TARGET_DIR/debug/infisical-test-server" "$(server_bin).tmp"
    mv "$(server_bin).tmp" "$(server_bin)"
    # Infisical's two official Python SDKs: infisicalsdk (current, pure Python; required) and
    # infisical-python (older, a binding of Infisical's Rust SDK core; pinned, it is no longer
    # released, and its wheels stop at CPython 3.12: where it cannot be installed, its smoke
    # checks say they are skipped).
    local py="$INSTALL_DIR/venv/bin/python"
    if [[ ! -x "$py" ]] || ! "$py" -c 'import infisical_sdk' 2>/dev/null; then
        log "installing infisicalsdk into $INSTALL_DIR/venv (for the smoke test)"
        rm -rf "$INSTALL_DIR/venv"
        python3 -m venv "$INSTALL_DIR/venv"
        "$py" -m pip install --quiet --disable-pip-version-check infisicalsdk >&2
    fi
    if ! "$py" -c 'import infisical_client' 2>/dev/null; then
        log "installing infisical-python 2.3.5 into $INSTALL_DIR/venv (for the smoke test)"
        "$py" -m pip install --quiet --disable-pip-version-check infisical-python==2.3.5 >&2 ||
            log "infisical-python has no wheel for this Python or machine: its smoke checks are skipped"
    fi
}

backend_start() {
    local port cloud_port
    port="$(free_port)"
    cloud_port="$(free_port)"
    localhost_tls "infisical"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$RUN_DIR/tls/signing.key" 2>/dev/null
    openssl rsa -in "$RUN_DIR/tls/signing.key" -traditional -out "$RUN_DIR/tls/signing-pkcs1.key" 2>/dev/null
    local oci_key_id="ocid1.tenancy.oc1..eso/ocid1.user.oc1..eso/12:34:56:78:9a:bc:de:f0"
    spawn "$(server_bin)" --addr "127.0.0.1:$port" \
        --cert "$RUN_DIR/tls/server.crt" --key "$RUN_DIR/tls/server.key" \
        --org eso-org --project "proj-6a1f0001:eso-project" --envs dev,prod \
        --folder dev:/app/db \
        --client "eso-client-id:eso-client-secret:identity-universal" \
        --client "eso-short-ttl-id:eso-short-ttl-secret:identity-short" --identity-ttl identity-short=4 \
        --k8s-identity "identity-k8s=system:serviceaccount:default:eso" \
        --jwt-identity "identity-jwt=eso-workload" \
        --ldap-identity "identity-ldap=eso-ldap-user:eso-ldap-password" \
        --token "eso-static-access-token=identity-token" \
        --cloud-addr "127.0.0.1:$cloud_port" --signing-key "$RUN_DIR/tls/signing.key" \
        --aws-identity "identity-aws=AKIDESOTEST0001:eso-aws-secret-key" \
        --aws-identity "identity-aws-role=ASIAESOTEST0002:eso-assumed-secret-key" \
        --aws-assumable ASIAESOTEST0002 \
        --azure-identity "identity-azure=eso-managed-identity" \
        --gcp-identity "identity-gcp-id=eso-gce@eso-project.iam.gserviceaccount.com" \
        --gcp-identity "identity-gcp-iam=eso-key@eso-project.iam.gserviceaccount.com" \
        --oci-identity "identity-oci=$oci_key_id"
    env_set INFISICAL_API_URL "https://localhost:$port/api"
    env_set INFISICAL_UNIVERSAL_AUTH_CLIENT_ID eso-client-id
    env_set INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET eso-client-secret
    env_set INFISICAL_ORG_SLUG eso-org
    env_set INFISICAL_PROJECT_SLUG eso-project
    env_set INFISICAL_PROJECT_ID proj-6a1f0001
    env_set INFISICAL_ENV_SLUG dev
    env_set INFISICAL_TOKEN_AUTH_TOKEN eso-static-access-token
    env_set INFISICAL_SHORT_TTL_CLIENT_ID eso-short-ttl-id
    env_set INFISICAL_SHORT_TTL_CLIENT_SECRET eso-short-ttl-secret
    env_set INFISICAL_K8S_IDENTITY_ID identity-k8s
    env_set INFISICAL_K8S_SUBJECT system:serviceaccount:default:eso
    env_set INFISICAL_JWT_IDENTITY_ID identity-jwt
    env_set INFISICAL_JWT_SUBJECT eso-workload
    env_set INFISICAL_LDAP_IDENTITY_ID identity-ldap
    env_set INFISICAL_LDAP_USERNAME eso-ldap-user
    env_set INFISICAL_LDAP_PASSWORD eso-ldap-password
    env_set INFISICAL_CLOUD_URL "http://127.0.0.1:$cloud_port"
    env_set INFISICAL_SIGNING_KEY_FILE "$RUN_DIR/tls/signing.key"
    env_set INFISICAL_SIGNING_KEY_PKCS1_FILE "$RUN_DIR/tls/signing-pkcs1.key"
    env_set INFISICAL_AWS_IDENTITY_ID identity-aws
    env_set INFISICAL_AWS_ACCESS_KEY_ID AKIDESOTEST0001
    env_set INFISICAL_AWS_SECRET_ACCESS_KEY eso-aws-secret-key
    env_set INFISICAL_AWS_ROLE_IDENTITY_ID identity-aws-role
    env_set INFISICAL_AWS_ROLE_ACCESS_KEY_ID ASIAESOTEST0002
    env_set INFISICAL_AWS_ROLE_SECRET_ACCESS_KEY eso-assumed-secret-key
    env_set INFISICAL_AZURE_IDENTITY_ID identity-azure
    env_set INFISICAL_GCP_ID_TOKEN_IDENTITY_ID identity-gcp-id
    env_set INFISICAL_GCP_IAM_IDENTITY_ID identity-gcp-iam
    env_set INFISICAL_GCP_IAM_EMAIL eso-key@eso-project.iam.gserviceaccount.com
    env_set INFISICAL_OCI_IDENTITY_ID identity-oci
    env_set INFISICAL_OCI_TENANCY ocid1.tenancy.oc1..eso
    env_set INFISICAL_OCI_USER ocid1.user.oc1..eso
    env_set INFISICAL_OCI_FINGERPRINT "12:34:56:78:9a:bc:de:f0"
    env_set INFISICAL_CA_FILE "$RUN_DIR/tls/ca.crt"
    env_set SSL_CERT_FILE "$RUN_DIR/tls/bundle.pem"
    env_set REQUESTS_CA_BUNDLE "$RUN_DIR/tls/bundle.pem"
    env_set INFISICAL_PYTHON "$INSTALL_DIR/venv/bin/python"
}

backend_healthy() {
    curl -fsS --max-time 2 --cacert "$INFISICAL_CA_FILE" "${INFISICAL_API_URL%/api}/_test/healthz" >/dev/null
}

backend_main "$@"
