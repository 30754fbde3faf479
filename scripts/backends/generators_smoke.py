"""One step of the generators' smoke check, with the vendors' own Python clients against the
running generator test server (scripts/backends/generators.sh start exports the environment).

usage: $GENERATORS_PYTHON generators_smoke.py STEP
steps: github-token github-scoped github-wrong-app gitlab-project gitlab-group-and-scopes
       grafana-token grafana-basic-and-errors cloudsmith-exchange cloudsmith-errors
(Quay and BeyondTrust publish no client library for the calls the generators make: their
modules follow the vendors' API references and are checked by the Rust tests only.)
Exits non-zero (with a message) when the step's expectation does not hold.
"""
import os
import sys


def github_integration(app_id, key_file):
    from github import Auth, GithubIntegration
    with open(key_file) as f:
        key = f.read()
    return GithubIntegration(
        auth=Auth.AppAuth(app_id, key),
        base_url=os.environ["GITHUB_API_URL"],
        verify=os.environ["GENERATORS_CA_FILE"],
    )


def main(step):
    if step.startswith("cloudsmith"):
        return cloudsmith_step(step)
    if step.startswith("gitlab"):
        return gitlab_step(step)
    if step.startswith("grafana"):
        return grafana_step(step)
    from github import GithubException
    gi = github_integration(os.environ["GITHUB_APP_ID"], os.environ["GITHUB_APP_PRIVATE_KEY_FILE"])
    install = int(os.environ["GITHUB_INSTALLATION_ID"])
    if step == "github-token":
        t = gi.get_access_token(install)
        assert t.token.startswith("ghs_") and len(t.token) == 40, "token shape"
        assert t.expires_at is not None, "expires_at"
        assert t.permissions.get("contents") == "write", t.permissions
    elif step == "github-scoped":
        t = gi.get_access_token(install, permissions={"contents": "read"})
        assert t.permissions == {"contents": "read"}, t.permissions
        try:
            gi.get_access_token(install, permissions={"administration": "write"})
            raise AssertionError("a permission the installation lacks was granted")
        except GithubException as e:
            assert e.status == 422, e.status
            assert "not granted" in e.data["message"], e.data
            assert e.data["documentation_url"].startswith("https://docs.github.com/"), e.data
    elif step == "github-wrong-app":
        # The installation of another App: 404, as GitHub answers.
        try:
            gi.get_access_token(int(os.environ["GITHUB_OTHER_INSTALLATION_ID"]))
            raise AssertionError("a token for another App's installation was issued")
        except GithubException as e:
            assert e.status == 404, e.status
        # A JWT signed by a key that is not the App's: 401.
        import subprocess
        import tempfile
        with tempfile.NamedTemporaryFile("w+", suffix=".pem") as f:
            subprocess.run(["openssl", "genrsa", "-traditional", "-out", f.name, "2048"],
                           check=True, capture_output=True)
            bad = github_integration(os.environ["GITHUB_APP_ID"], f.name)
            try:
                bad.get_access_token(install)
                raise AssertionError("a JWT with a foreign signature was accepted")
            except GithubException as e:
                assert e.status == 401, e.status
                assert e.data["message"] == "A JSON web token could not be decoded", e.data
    else:
        raise SystemExit(f"unknown step {step}")


def gitlab_client(token):
    import gitlab
    return gitlab.Gitlab(os.environ["GITLAB_URL"], private_token=token,
                         ssl_verify=os.environ["GENERATORS_CA_FILE"])


def gitlab_step(step):
    import gitlab
    gl = gitlab_client(os.environ["GITLAB_TOKEN"])
    if step == "gitlab-project":
        # By path (python-gitlab escapes it), create, list, get, delete.
        project = gl.projects.get(os.environ["GITLAB_PROJECT_PATH"], lazy=True)
        t = project.deploytokens.create({"name": "smoke", "scopes": ["read_registry"],
                                         "username": "smoke-user",
                                         "expires_at": "2099-01-01T00:00:00Z"})
        assert t.token.startswith("gldt-") and t.username == "smoke-user", t.username
        assert t.expires_at.startswith("2099-01-01T00:00:00"), t.expires_at
        listed = [d.id for d in project.deploytokens.list(get_all=True)]
        assert t.id in listed, listed
        project.deploytokens.delete(t.id)
        listed = [d.id for d in project.deploytokens.list(get_all=True)]
        assert t.id not in listed, listed
        try:
            project.deploytokens.delete(t.id)
            raise AssertionError("a deleted token was deleted again")
        except gitlab.exceptions.GitlabDeleteError as e:
            assert e.response_code == 404, e.response_code
    elif step == "gitlab-group-and-scopes":
        group = gl.groups.get(int(os.environ["GITLAB_GROUP_ID"]), lazy=True)
        t = group.deploytokens.create({"name": "smoke", "scopes": ["read_repository"]})
        assert t.username == f"gitlab+deploy-token-{t.id}", t.username
        group.deploytokens.delete(t.id)
        try:
            group.deploytokens.create({"name": "v", "scopes": ["read_virtual_registry"]})
            raise AssertionError("a project-only scope was granted to a group")
        except gitlab.exceptions.GitlabCreateError as e:
            assert e.response_code == 400, e.response_code
        ro = gitlab_client(os.environ["GITLAB_READ_TOKEN"])
        try:
            ro.projects.get(int(os.environ["GITLAB_PROJECT_ID"]), lazy=True).deploytokens.create(
                {"name": "ro", "scopes": ["read_registry"]})
            raise AssertionError("a read_api token created a deploy token")
        except gitlab.exceptions.GitlabCreateError as e:
            assert e.response_code == 403, e.response_code
    else:
        raise SystemExit(f"unknown step {step}")



def grafana_client(auth):
    from urllib.parse import urlparse

    from grafana_client import GrafanaApi
    u = urlparse(os.environ["GRAFANA_URL"])
    return GrafanaApi(auth=auth, host=u.netloc, protocol=u.scheme, url_path_prefix=u.path.strip("/") + "/",
                      verify=os.environ["GENERATORS_CA_FILE"])


def grafana_step(step):
    from grafana_client import TokenAuth
    from grafana_client.client import GrafanaClientError
    api = grafana_client(TokenAuth(os.environ["GRAFANA_TOKEN"]))
    if step == "grafana-token":
        sa = api.serviceaccount.create({"name": "smoke", "role": "Viewer"})
        assert sa["login"] == "sa-1-smoke", sa
        # The client reads pages until an empty one.
        found = [a for page in api.serviceaccount.search(query="smoke")
                 for a in page["serviceAccounts"]]
        assert [a["id"] for a in found] == [sa["id"]], found
        t = api.serviceaccount.create_token(sa["id"], {"name": "t1", "secondsToLive": 3600})
        assert t["key"].startswith("glsa_"), "key shape"
        tokens = api.serviceaccount.get_tokens(sa["id"])
        assert [x["id"] for x in tokens] == [t["id"]] and tokens[0]["expiration"], tokens
        # The minted token works, and stops working once deleted.
        minted = grafana_client(TokenAuth(t["key"]))
        assert minted.user.get_actual_user()["id"] == sa["id"]
        api.serviceaccount.delete_token(sa["id"], t["id"])
        try:
            minted.user.get_actual_user()
            raise AssertionError("a deleted token still works")
        except GrafanaClientError as e:
            assert e.status_code == 401, e.status_code
        api.serviceaccount.delete(sa["id"])
    elif step == "grafana-basic-and-errors":
        api = grafana_client((os.environ["GRAFANA_USER"], os.environ["GRAFANA_PASSWORD"]))
        sa = api.serviceaccount.create({"name": "smoke-basic", "role": "Editor"})
        try:
            api.serviceaccount.create({"name": "smoke-basic", "role": "Editor"})
            raise AssertionError("a taken name was accepted")
        except GrafanaClientError as e:
            assert e.status_code == 409, e.status_code
        try:
            api.serviceaccount.delete_token(sa["id"], 999999)
            raise AssertionError("an unknown token was deleted")
        except GrafanaClientError as e:
            assert e.status_code == 404, e.status_code
        api.serviceaccount.delete(sa["id"])
        bad = grafana_client(TokenAuth("glsa_not_a_token"))
        try:
            bad.serviceaccount.search(query="x")
            raise AssertionError("an unknown token was accepted")
        except GrafanaClientError as e:
            assert e.status_code == 401, e.status_code
    else:
        raise SystemExit(f"unknown step {step}")


def service_account_jwt(audience, name=None):
    """An unsigned JWT with a Kubernetes ServiceAccount token's claims (the test server
    checks issuer, subject, audience and expiry, not signatures)."""
    import base64
    import json
    import time

    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    name = name or os.environ["CLOUDSMITH_SERVICE_ACCOUNT"]
    now = int(time.time())
    claims = {"iss": os.environ["GENERATORS_OIDC_ISSUER"],
              "sub": f"system:serviceaccount:app:{name}", "aud": [audience],
              "iat": now, "exp": now + 600}
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}."


def cloudsmith_client(api_key=None):
    import cloudsmith_api
    config = cloudsmith_api.Configuration()
    config.host = os.environ["CLOUDSMITH_API_URL"]
    config.ssl_ca_cert = os.environ["GENERATORS_CA_FILE"]
    if api_key:
        config.api_key["X-Api-Key"] = api_key
    return cloudsmith_api.ApiClient(config)


def cloudsmith_exchange(org, service, audience):
    import cloudsmith_api
    api = cloudsmith_api.OpenidApi(cloudsmith_client())
    req = cloudsmith_api.OidcRequest(oidc_token=service_account_jwt(audience), service_slug=service)
    return api.openid_create(org, data=req)


def cloudsmith_step(step):
    import json

    import cloudsmith_api
    from cloudsmith_api.rest import ApiException
    org, service = os.environ["CLOUDSMITH_ORG"], os.environ["CLOUDSMITH_SERVICE"]
    audience = os.environ["CLOUDSMITH_AUDIENCE"]
    if step == "cloudsmith-exchange":
        # OpenidApi.openid_create, then the token authenticates at UserApi.user_self.
        out = cloudsmith_exchange(org, service, audience)
        assert out.token and out.token.count(".") == 2, "token shape"
        me = cloudsmith_api.UserApi(cloudsmith_client(out.token)).user_self()
        assert me.authenticated and me.slug == service, me
        anonymous = cloudsmith_api.UserApi(cloudsmith_client()).user_self()
        assert not anonymous.authenticated, anonymous
    elif step == "cloudsmith-errors":
        for (o, s, a, status) in [(org, service, "not-the-audience", 401),
                                  ("no-such-org", service, audience, 404),
                                  (org, "no-such-service", audience, 404)]:
            try:
                cloudsmith_exchange(o, s, a)
                raise AssertionError(f"exchange for {o}/{s} ({a}) succeeded")
            except ApiException as e:
                assert e.status == status, (o, s, a, e.status)
                assert json.loads(e.body)["detail"], e.body
        try:
            # The model refuses an empty token client-side: send the body without it.
            cloudsmith_api.OpenidApi(cloudsmith_client()).openid_create(
                org, data={"service_slug": service})
            raise AssertionError("an empty token was accepted")
        except ApiException as e:
            assert e.status == 400, e.status
            assert "oidc_token" in json.loads(e.body)["fields"], e.body
        try:
            cloudsmith_api.UserApi(cloudsmith_client("not-a-token")).user_self()
            raise AssertionError("an unknown token was accepted")
        except ApiException as e:
            assert e.status == 401, e.status
    else:
        raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    main(sys.argv[1])
