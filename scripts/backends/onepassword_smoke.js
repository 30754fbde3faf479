// One step of the 1Password Connect smoke check with 1Password's official JavaScript SDK
// (@1password/connect) against the running test server (scripts/backends/onepassword.sh start
// exports the environment; NODE_EXTRA_CA_CERTS makes node trust the test CA).
//
// usage: NODE_PATH=$OP_NODE_MODULES node onepassword_smoke.js STEP TITLE
// steps: create get update search delete
// Exits non-zero (with a message) when the step's expectation does not hold.
"use strict";
const { OnePasswordConnect, ItemBuilder, FullItem } = require("@1password/connect");

const op = OnePasswordConnect({
  serverURL: process.env.OP_CONNECT_HOST,
  token: process.env.OP_CONNECT_TOKEN,
  keepAlive: false,
});
const vaultName = process.env.OP_VAULTS.split(",")[0];
const field = (item, label) => (item.fields || []).find((f) => f.label === label);

function fail(msg) {
  console.error(msg);
  process.exit(1);
}

async function main(step, title) {
  const vault = await op.getVaultByTitle(vaultName);
  switch (step) {
    case "create": {
      const item = new ItemBuilder()
        .setCategory(FullItem.CategoryEnum.Login)
        .setTitle(title)
        .addTag("smoke-js")
        .addField({ label: "username", value: "app", purpose: "USERNAME" })
        .addField({ label: "password", value: "v1", purpose: "PASSWORD", type: "CONCEALED" })
        .build();
      const made = await op.createItem(vault.id, item);
      if (made.id.length !== 26 || field(made, "password").value !== "v1") fail("unexpected created item");
      break;
    }
    case "get": {
      const item = await op.getItemByTitle(vault.id, title);
      if (field(item, "password").value !== "v1") fail(`got ${field(item, "password").value}`);
      break;
    }
    case "update": {
      const item = await op.getItem(vault.id, title);
      field(item, "password").value = "v2";
      const updated = await op.updateItem(vault.id, item);
      if (field(updated, "password").value !== "v2" || field(updated, "username").value !== "app") {
        fail("update did not keep both fields");
      }
      break;
    }
    case "search": {
      const found = await op.listItemsByTitleContains(vault.id, title.slice(0, -2));
      if (!found.some((i) => i.title === title)) fail(`${title} not found by a part of its title`);
      break;
    }
    case "delete": {
      await op.deleteItemByTitle(vault.id, title);
      const left = await op.listItemsByTitle(vault.id, title);
      if (left.length !== 0) fail(`${title} still listed after delete`);
      break;
    }
    default:
      fail(`unknown step ${step}`);
  }
}

main(process.argv[2], process.argv[3]).catch((e) => fail(String(e && e.message ? e.message : e)));
