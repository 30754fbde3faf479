"""One step of the 1Password Connect smoke check, with 1Password's official Python Connect SDK
(onepasswordconnectsdk) against the running test server (scripts/backends/onepassword.sh start
exports the environment).

usage: $OP_PYTHON onepassword_smoke.py STEP TITLE [LABEL]
steps: create get update list files delete read-pushed denied
  read-pushed TITLE LABEL: prints the value of field LABEL of item TITLE (in any of the
  vaults, in order: to check what a provider pushed)
Exits non-zero (with a message) when the step's expectation does not hold.
"""
import base64
import os
import sys

import httpx
from onepasswordconnectsdk.client import new_client
from onepasswordconnectsdk.config import ClientConfig
from onepasswordconnectsdk.models import Field, Item, ItemVault


def client(token=None):
    return new_client(os.environ["OP_CONNECT_HOST"], token or os.environ["OP_CONNECT_TOKEN"],
                      config=ClientConfig(ca_file=os.environ["OP_CONNECT_CA_FILE"]))


def vaults():
    return os.environ["OP_VAULTS"].split(",")


def field(item, label):
    for f in item.fields or []:
        if f.label == label:
            return f.value
    return None


def main(step, title, label="password"):
    c = client()
    vault = c.get_vault_by_title(vaults()[0]).id
    if step == "create":
        item = Item(vault=ItemVault(id=vault), title=title, category="LOGIN", tags=["smoke"],
                    fields=[Field(label="username", value="app", purpose="USERNAME"),
                            Field(label="password", value="v1", purpose="PASSWORD")])
        made = c.create_item(vault, item)
        if len(made.id) != 26 or field(made, "password") != "v1":
            sys.exit(f"unexpected created item {made.id!r}")
    elif step == "get":
        item = c.get_item(title, vaults()[0])
        if field(item, "password") != "v1" or item.tags != ["smoke"]:
            sys.exit(f"got {field(item, 'password')!r} / {item.tags!r}, want 'v1' / ['smoke']")
    elif step == "update":
        item = c.get_item_by_title(title, vault)
        for f in item.fields:
            if f.label == "password":
                f.value = "v2"
        updated = c.update_item(item.id, vault, item)
        if field(updated, "password") != "v2" or field(updated, "username") != "app":
            sys.exit("update did not keep both fields")
    elif step == "list":
        found = c.get_items(vault, filter_query=f'title eq "{title}"')
        if len(found) != 1 or found[0].title != title:
            sys.exit(f"{title} not listed once: {len(found)}")
        if not any(i.title == title for i in c.get_items(vault)):
            sys.exit(f"{title} missing from the full list")
    elif step == "files":
        item = c.get_item_by_title(title, vault)
        content = b"smoke file \x00\x01"
        httpx.post(f"{os.environ['OP_CONNECT_HOST']}/_test/files",
                   verify=os.environ["OP_CONNECT_CA_FILE"],
                   json={"vault": vault, "item": item.id, "name": "smoke.bin",
                         "content": base64.b64encode(content).decode()}).raise_for_status()
        files = c.get_files(item.id, vault)
        if [f.name for f in files] != ["smoke.bin"]:
            sys.exit(f"files: {[f.name for f in files]}")
        got = c.get_file_content(files[0].id, item.id, vault, files[0].content_path)
        if got != content:
            sys.exit("file content differs")
    elif step == "delete":
        item = c.get_item_by_title(title, vault)
        c.delete_item(item.id, vault)
        try:
            c.get_item_by_title(title, vault)
        except Exception:  # the SDK raises when no item has the title
            return
        sys.exit(f"{title} still readable after delete")
    elif step == "denied":
        limited = client(os.environ["OP_CONNECT_LIMITED_TOKEN"])
        try:
            limited.get_items(c.get_vault_by_title(vaults()[1]).id)
        except Exception as e:  # 403: the vault is not in the token's scope
            if "403" in str(e):
                return
            raise
        sys.exit("the limited token listed a vault outside its scope")
    elif step == "read-pushed":
        for name in vaults():
            v = c.get_vault_by_title(name).id
            if c.get_items(v, filter_query=f'title eq "{title}"'):
                print(field(c.get_item_by_title(title, v), label))
                return
        sys.exit(f"no item titled {title}")
    else:
        sys.exit(f"unknown step {step}")


if __name__ == "__main__":
    main(*sys.argv[1:])
