"""One step of the Azure smoke check, with Microsoft's Python SDK against the running
Key Vault test server (scripts/backends/azure.sh start exports the environment).

usage: $AZURE_PYTHON azure_smoke.py STEP NAME
steps: set get list-paging delete recover purge
Exits non-zero (with a message) when the step's expectation does not hold.
"""
import os
import sys

from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient


def client():
    cred = ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"],
        os.environ["AZURE_CLIENT_ID"],
        os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"],
        disable_instance_discovery=True,
    )
    # The vault is https://localhost:PORT, not a *.vault.azure.net host.
    return SecretClient(os.environ["AZURE_KEYVAULT_URL"], cred, verify_challenge_resource=False)


def main(step, name):
    c = client()
    if step == "set":
        s = c.set_secret(name, "hunter2", content_type="text/plain", tags={"smoke": "yes"})
        assert s.value == "hunter2" and s.properties.version, s
    elif step == "get":
        s = c.get_secret(name)
        assert s.value == "hunter2", s.value
        assert s.properties.content_type == "text/plain", s.properties.content_type
        assert s.properties.tags == {"smoke": "yes"}, s.properties.tags
        v = c.get_secret(name, s.properties.version)
        assert v.value == "hunter2"
    elif step == "list-paging":
        # More than one page (25 per page by default): every name must come back.
        want = {f"{name}-p{i}" for i in range(30)}
        for n in sorted(want):
            c.set_secret(n, n)
        got = {p.name for p in c.list_properties_of_secrets()}
        missing = want - got
        assert not missing, f"missing from the list: {sorted(missing)[:5]}"
        for i in range(3):
            c.set_secret(name, f"v{i}")
        versions = list(c.list_properties_of_secret_versions(name))
        assert len(versions) == 4, len(versions)
    elif step == "delete":
        d = c.begin_delete_secret(name).result()
        assert d.recovery_id and d.deleted_date, d
        assert name in {s.name for s in c.list_deleted_secrets()}
        try:
            c.get_secret(name)
            raise AssertionError("a deleted secret can still be read")
        except ResourceNotFoundError:
            pass
    elif step == "recover":
        c.begin_recover_deleted_secret(name).result()
        assert c.get_secret(name).value == "v2"
    elif step == "purge":
        c.begin_delete_secret(name).result()
        c.purge_deleted_secret(name)
        try:
            c.get_deleted_secret(name)
            raise AssertionError("a purged secret is still listed as deleted")
        except ResourceNotFoundError:
            pass
        c.set_secret(name, "reused")
    else:
        raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
