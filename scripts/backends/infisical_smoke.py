"""One step of the Infisical smoke check, with Infisical's official Python SDK (infisicalsdk)
against the running test server (scripts/backends/infisical.sh start exports the environment).

usage: $INFISICAL_PYTHON infisical_smoke.py STEP NAME
steps: create get update list delete read-pushed aws-login
  read-pushed NAME: prints the value of NAME in the root folder (to check what a provider pushed)
  aws-login NAME: AWS IAM auth with the SDK's own SigV4 request (botocore), then lists secrets:
    the test server's AWS check accepts an official client's request, not only eso-rs's
Exits non-zero (with a message) when the step's expectation does not hold.
"""
import os
import sys

from infisical_sdk import InfisicalSDKClient


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


def main(step, name):
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
    elif step == "read-pushed":
        print(c.secrets.get_secret_by_name(secret_name=name, **where).secretValue)
    else:
        sys.exit(f"unknown step {step}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
