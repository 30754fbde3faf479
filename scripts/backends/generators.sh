#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Token services of the generators: the project's own test server
# (tools/generator-test-server, built here with cargo from this workspace), one
# HTTPS listener with a certificate from a CA generated per instance, one path
# prefix per service:
#   /github   GitHub App installation access tokens (two Apps, one installation each)
#   /gitlab   GitLab deploy tokens of project eso-rs/app (101) and group eso-rs (201)
#   /grafana  Grafana service accounts and their tokens (one organisation)
#   /quay     Quay robot account federation (robot eso-rs+ci)
#   /cloudsmith  Cloudsmith's OIDC exchange (organisation eso-rs, service ci-service)
#   /beyondtrust  BeyondTrust Workload Credentials dynamic secrets (one site)
#
# usage: scripts/backends/generators.sh start|stop|env|status|install [instance]
#
# Exports:
#   GENERATORS_URL           https://localhost:<port>
#   GENERATORS_CA_FILE       PEM of the per-instance CA (not added to SSL_CERT_FILE:
#                            tests trust it explicitly)
#   GITHUB_API_URL           $GENERATORS_URL/github (a GitHub Enterprise-style API root)
#   GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_FILE, GITHUB_INSTALLATION_ID
#                            a registered App (PKCS#1 PEM key, as GitHub hands them out)
#                            and its installation
#   GITHUB_OTHER_INSTALLATION_ID   an installation of another App
#   GITLAB_URL               $GENERATORS_URL/gitlab (the GitLab instance URL; API under /api/v4)
#   GITLAB_TOKEN             an access token with the api scope; GITLAB_READ_TOKEN: read_api only
#   GITLAB_PROJECT_ID, GITLAB_PROJECT_PATH, GITLAB_GROUP_ID
#   GRAFANA_URL              $GENERATORS_URL/grafana (API under /api)
#   GRAFANA_TOKEN            an admin service account token; GRAFANA_USER / GRAFANA_PASSWORD
#                            basic auth of an admin
#   GENERATORS_OIDC_ISSUER   the ServiceAccount token issuer the Quay and Cloudsmith modules
#                            trust (tests give it to MemoryCluster::with_service_account_tokens);
#                            the federated ServiceAccounts are in namespace app
#   QUAY_URL                 $GENERATORS_URL/quay; QUAY_ROBOT, QUAY_AUDIENCE, QUAY_SERVICE_ACCOUNT
#                            the robot and the ServiceAccount (and audience) it federates with
#   CLOUDSMITH_API_URL       $GENERATORS_URL/cloudsmith; CLOUDSMITH_ORG, CLOUDSMITH_SERVICE,
#                            CLOUDSMITH_AUDIENCE, CLOUDSMITH_SERVICE_ACCOUNT likewise
#   BEYONDTRUST_API_URL      $GENERATORS_URL/beyondtrust; BEYONDTRUST_SITE_ID, BEYONDTRUST_TOKEN
#                            (may generate), BEYONDTRUST_READ_TOKEN (may not); definitions
#                            production/aws/aws-temp (with a session token) and iam-user
#   GENERATORS_PYTHON        a venv python with the vendor clients (PyGithub, python-gitlab,
#                            grafana-client, cloudsmith-api), for smoke.sh
set -euo pipefail
BACKEND=generators
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY_PACKAGES=(PyGithub python-gitlab grafana-client cloudsmith-api)
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"

server_bin() { echo "$INSTALL_DIR/bin/generator-test-server"; }

backend_install() {
    mkdir -p "$INSTALL_DIR/bin"
    log "building generator-test-server"
    (cd "$REPO_ROOT" && cargo build --quiet -p generator-test-server) >&2
    cp "$TARGET_DIR/debug/generator-test-server" "$(server_bin).tmp"
    mv "$(server_bin).tmp" "$(server_bin)"
    if [[ ! -x "$INSTALL_DIR/venv/bin/python" ]] ||
        ! "$INSTALL_DIR/venv/bin/python" -c 'import github, gitlab, grafana_client, cloudsmith_api' 2>/dev/null; then
        log "installing ${PY_PACKAGES[*]} into $INSTALL_DIR/venv (for the smoke test)"
        rm -rf "$INSTALL_DIR/venv"
        python3 -m venv "$INSTALL_DIR/venv"
        "$INSTALL_DIR/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "${PY_PACKAGES[@]}" >&2
    fi
}

# An App key pair: PKCS#1 private key (GitHub's format) and its RSA public key.
gen_app_key() {
    local d="$RUN_DIR/github"
    mkdir -p "$d"
    openssl genrsa -traditional -out "$d/$1.pem" 2048 2>/dev/null
    openssl rsa -in "$d/$1.pem" -RSAPublicKey_out -out "$d/$1.pub.pem" 2>/dev/null
}

backend_start() {
    local port app=424242 other=999001 install=4242001 other_install=4242999
    local issuer=https://kubernetes.generators.test site=6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b
    port="$(free_port)"
    localhost_tls "generators"
    gen_app_key app
    gen_app_key other-app
    spawn "$(server_bin)" --addr "127.0.0.1:$port" \
        --cert "$RUN_DIR/tls/server.crt" --key "$RUN_DIR/tls/server.key" \
        --github-app "$app=$RUN_DIR/github/app.pub.pem" \
        --github-app "$other=$RUN_DIR/github/other-app.pub.pem" \
        --github-installation "$install=$app" --github-installation "$other_install=$other" \
        --gitlab-token glpat-eso-api-token-0001 --gitlab-read-token glpat-eso-read-token-0001 \
        --grafana-token glsa_eso_admin_token_0001 --grafana-basic admin:eso-admin-password \
        --quay-robot "eso-rs+ci=$issuer,system:serviceaccount:app:quay-builder,quay.generators.test" \
        --cloudsmith-service "eso-rs/ci-service=$issuer,system:serviceaccount:app:cs-builder,cloudsmith.generators.test" \
        --beyondtrust-site "$site" --beyondtrust-token bt-eso-api-token-0001 \
        --beyondtrust-read-token bt-eso-read-token-0001 \
        --beyondtrust-dynamic production/aws/aws-temp=sts --beyondtrust-dynamic iam-user
    env_set GENERATORS_URL "https://localhost:$port"
    env_set GENERATORS_CA_FILE "$RUN_DIR/tls/ca.crt"
    env_set GITHUB_API_URL "https://localhost:$port/github"
    env_set GITHUB_APP_ID "$app"
    env_set GITHUB_APP_PRIVATE_KEY_FILE "$RUN_DIR/github/app.pem"
    env_set GITHUB_INSTALLATION_ID "$install"
    env_set GITHUB_OTHER_INSTALLATION_ID "$other_install"
    env_set GITLAB_URL "https://localhost:$port/gitlab"
    env_set GITLAB_TOKEN glpat-eso-api-token-0001
    env_set GITLAB_READ_TOKEN glpat-eso-read-token-0001
    env_set GITLAB_PROJECT_ID 101
    env_set GITLAB_PROJECT_PATH eso-rs/app
    env_set GITLAB_GROUP_ID 201
    env_set GRAFANA_URL "https://localhost:$port/grafana"
    env_set GRAFANA_TOKEN glsa_eso_admin_token_0001
    env_set GRAFANA_USER admin
    env_set GRAFANA_PASSWORD eso-admin-password
    env_set GENERATORS_OIDC_ISSUER "$issuer"
    env_set QUAY_URL "https://localhost:$port/quay"
    env_set QUAY_ROBOT eso-rs+ci
    env_set QUAY_AUDIENCE quay.generators.test
    env_set QUAY_SERVICE_ACCOUNT quay-builder
    env_set CLOUDSMITH_API_URL "https://localhost:$port/cloudsmith"
    env_set CLOUDSMITH_ORG eso-rs
    env_set CLOUDSMITH_SERVICE ci-service
    env_set CLOUDSMITH_AUDIENCE cloudsmith.generators.test
    env_set CLOUDSMITH_SERVICE_ACCOUNT cs-builder
    env_set BEYONDTRUST_API_URL "https://localhost:$port/beyondtrust"
    env_set BEYONDTRUST_SITE_ID "$site"
    env_set BEYONDTRUST_TOKEN bt-eso-api-token-0001
    env_set BEYONDTRUST_READ_TOKEN bt-eso-read-token-0001
    env_set GENERATORS_PYTHON "$INSTALL_DIR/venv/bin/python"
}

backend_healthy() {
    curl -fsS --max-time 2 --cacert "$GENERATORS_CA_FILE" "$GENERATORS_URL/_test/healthz" >/dev/null
}

backend_main "$@"
