"""One step of the Infisical smoke check against the running test server
(scripts/backends/infisical.sh start exports the environment), with Infisical's two official
Python SDKs: infisicalsdk (pure Python, the current one) and infisical-python (the older one,
a Python binding of Infisical's Rust SDK core: its own HTTP client, SigV4 signer and requests).

usage: $INFISICAL_PYTHON infisical_smoke.py STEP NAME
steps with infisicalsdk: create get update list delete aws-login
  aws-login NAME: AWS IAM auth with the SDK's own SigV4 request (botocore), then lists secrets:
    the test server's AWS check accepts an official client's request, not only eso-rs's
steps with infisical-python: rust-create rust-get rust-update rust-list rust-delete
  (universal auth; NAME in the folder /app, listed recursively from the root),
  rust-k8s-login NAME (Kubernetes auth with a token file), rust-aws-login NAME (AWS IAM auth
  with session credentials, the SDK's own signer)
read-pushed NAME: prints the value of NAME in the root folder as both SDKs read it (to check
  what a provider pushed); fails when they disagree (infisicalsdk alone where infisical-python
  has no wheel)
Exits non-zero (with a message) when the step's expectation does not hold.
"""
import os
import sys

import atexit
import base64
import json
import tempfile

from infisical_sdk import InfisicalSDKClient

try:
    import infisical_client as rust
except ImportError:  # no wheel for this Python: infisical.sh said so, smoke.sh skips its steps
    rust = None


def client():
    host = os.environ["INFISICAL_API_URL"].removesuffix("/api")
    c = InfisicalSDKClient(host=host)
    c.auth.universal_auth.login(
        client_id=os.environ["INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"],
        client_secret=os.environ["INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET"],
    )
    return c


def aws_client():
    os.environ.update(AWS_ACCESS_KEY_ID=os.environ["INFISICAL_AWS_ACCESS_KEY_ID"],
                      AWS_SECRET_ACCESS_KEY=os.environ["INFISICAL_AWS_SECRET_ACCESS_KEY"],
                      AWS_REGION="eu-west-1")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    c = InfisicalSDKClient(host=os.environ["INFISICAL_API_URL"].removesuffix("/api"))
    c.auth.aws_auth.login(identity_id=os.environ["INFISICAL_AWS_IDENTITY_ID"])
    return c


def rust_client(auth=None):
    """An infisical-python client; universal auth unless `auth` is given."""
    if auth is None:
        auth = rust.AuthenticationOptions(universal_auth=rust.UniversalAuthMethod(
            client_id=os.environ["INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"],
            client_secret=os.environ["INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET"]))
    return rust.InfisicalClient(rust.ClientSettings(
        site_url=os.environ["INFISICAL_API_URL"].removesuffix("/api"),
        ssl_certificate_path=os.environ["INFISICAL_CA_FILE"], auth=auth))


def rust_k8s_client():
    """Kubernetes auth: a ServiceAccount token file whose subject the identity accepts."""
    def seg(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    token = ".".join([seg({"alg": "RS256", "typ": "JWT"}),
                      seg({"sub": os.environ["INFISICAL_K8S_SUBJECT"],
                           "iss": "kubernetes/serviceaccount"}), "c2ln"])
    f = tempfile.NamedTemporaryFile("w", suffix=".jwt", delete=False)
    f.write(token)
    f.close()
    atexit.register(os.unlink, f.name)
    return rust_client(rust.AuthenticationOptions(kubernetes=rust.KubernetesAuthMethod(
        identity_id=os.environ["INFISICAL_K8S_IDENTITY_ID"], service_account_token_path=f.name)))


def rust_aws_client():
    """AWS IAM auth with the session credentials a pod gets from IRSA or Pod Identity."""
    os.environ.update(AWS_ACCESS_KEY_ID=os.environ["INFISICAL_AWS_ROLE_ACCESS_KEY_ID"],
                      AWS_SECRET_ACCESS_KEY=os.environ["INFISICAL_AWS_ROLE_SECRET_ACCESS_KEY"],
                      AWS_SESSION_TOKEN="eso-smoke-session-token", AWS_REGION="eu-west-1")
    return rust_client(rust.AuthenticationOptions(aws_iam=rust.AWSIamAuthMethod(
        identity_id=os.environ["INFISICAL_AWS_ROLE_IDENTITY_ID"])))


def rust_step(step, name):
    """The infisical-python steps."""
    project, env = os.environ["INFISICAL_PROJECT_ID"], os.environ["INFISICAL_ENV_SLUG"]
    where = dict(project_id=project, environment=env, path="/app")
    c = {"rust-k8s-login": rust_k8s_client, "rust-aws-login": rust_aws_client}.get(
        step, rust_client)()
    if step == "rust-create":
        c.createSecret(rust.CreateSecretOptions(secret_name=name, secret_value="r1", **where))
    elif step == "rust-get":
        got = c.getSecret(rust.GetSecretOptions(secret_name=name, **where)).secret_value
        if got != "r1":
            sys.exit(f"got {got!r}, want 'r1'")
    elif step == "rust-update":
        c.updateSecret(rust.UpdateSecretOptions(secret_name=name, secret_value="r2", **where))
    elif step == "rust-list":
        listed = c.listSecrets(rust.ListSecretsOptions(project_id=project, environment=env,
                                                       path="/", recursive=True))
        if not any(s.secret_key == name and s.secret_value == "r2" and s.secret_path == "/app"
                   for s in listed):
            sys.exit(f"{name} not listed under /app with its new value")
    elif step == "rust-delete":
        c.deleteSecret(rust.DeleteSecretOptions(secret_name=name, **where))
        try:
            c.getSecret(rust.GetSecretOptions(secret_name=name, **where))
        except Exception:  # the SDK raises on the 404 answer
            return
        sys.exit(f"{name} still readable after delete")
    elif step in ("rust-k8s-login", "rust-aws-login"):
        c.listSecrets(rust.ListSecretsOptions(project_id=project, environment=env, path="/"))
    else:
        sys.exit(f"unknown step {step}")


def read_pushed(name):
    """The value of `name` in the root folder, read by both SDKs."""
    where = dict(project_id=os.environ["INFISICAL_PROJECT_ID"],
                 environment_slug=os.environ["INFISICAL_ENV_SLUG"], secret_path="/")
    value = client().secrets.get_secret_by_name(secret_name=name, **where).secretValue
    if rust is None:
        print(value)
        return
    other = rust_client().getSecret(rust.GetSecretOptions(
        secret_name=name, project_id=where["project_id"],
        environment=where["environment_slug"], path="/")).secret_value
    if other != value:
        sys.exit(f"infisicalsdk read {value!r}, infisical-python read {other!r}")
    print(value)


def main(step, name):
    if step.startswith("rust-"):
        return rust_step(step, name)
    if step == "read-pushed":
        return read_pushed(name)
    c = aws_client() if step == "aws-login" else client()
    where = dict(project_id=os.environ["INFISICAL_PROJECT_ID"],
                 environment_slug=os.environ["INFISICAL_ENV_SLUG"], secret_path="/")
    if step == "create":
        c.secrets.create_secret_by_name(secret_name=name, secret_value="v1", **where)
    elif step == "get":
        s = c.secrets.get_secret_by_name(secret_name=name, **where)
        if s.secretValue != "v1":
            sys.exit(f"got {s.secretValue!r}, want 'v1'")
    elif step == "update":
        c.secrets.update_secret_by_name(current_secret_name=name, secret_value="v2", **where)
    elif step == "list":
        values = {s.secretKey: s.secretValue for s in c.secrets.list_secrets(**where).secrets}
        if values.get(name) != "v2":
            sys.exit(f"{name} not listed with its new value")
    elif step == "delete":
        c.secrets.delete_secret_by_name(secret_name=name, **where)
        try:
            c.secrets.get_secret_by_name(secret_name=name, **where)
        except Exception:  # the SDK raises on the 404 answer
            return
        sys.exit(f"{name} still readable after delete")
    elif step == "aws-login":
        c.secrets.list_secrets(**where)
    else:
        sys.exit(f"unknown step {step}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
