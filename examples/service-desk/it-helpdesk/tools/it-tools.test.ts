import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Tool } from "../../../../src/tools/tool.ts";
import {
  callTool,
  type ShopDatabase,
  shopDatabaseKinds,
} from "../../../support-triage/test-shop-databases.ts";
import { createItTools, setupItHelpdesk } from "./it-tools.ts";

for (const kind of shopDatabaseKinds()) {
  describe(`the it-helpdesk tools ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    let tools: Map<string, Tool>;
    const tool = (name: string) => tools.get(name)!;
    before(async () => {
      database = await kind.open();
      await setupItHelpdesk(database.sql);
      await setupItHelpdesk(database.sql);
      tools = new Map(createItTools({ sql: database.sql }).map((entry) => [entry.name, entry]));
    });
    after(async () => {
      await database?.close();
    });

    test("lookup_account reports a locked, an active, a disabled and an unknown account", async () => {
      const statuses = [];
      for (const username of ["Maya.Okafor", "tom.reyes", "li.wei", "bob.smith"]) {
        const account = (await callTool(tool("lookup_account"), { username })) as {
          status: string;
          found: boolean;
        };
        statuses.push([account.status, account.found]);
      }
      assert.deepEqual(statuses, [
        ["locked", true],
        ["active", true],
        ["disabled", true],
        ["unknown", false],
      ]);
      await assert.rejects(callTool(tool("lookup_account"), { username: "maya" }), /such as maya\.okafor/);
    });

    test("unlock_account unlocks once per key, reconciles by key, and refuses understated privilege and disabled accounts", async () => {
      const first = await callTool(
        tool("unlock_account"),
        { username: "sven.dahl", privileged: false },
        { idempotencyKey: "u-1" },
      );
      const again = await callTool(
        tool("unlock_account"),
        { username: "sven.dahl", privileged: false },
        { idempotencyKey: "u-1" },
      );
      assert.deepEqual(again, first);
      const rows = await database.sql.query("SELECT 1 FROM it_helpdesk.unlocks WHERE username = 'sven.dahl'");
      assert.equal(rows.rows.length, 1);
      const unlock = tool("unlock_account");
      const context = (idempotencyKey: string) => ({
        runId: "r",
        callId: "c",
        idempotencyKey,
        signal: new AbortController().signal,
      });
      assert.deepEqual(
        await unlock.reconcile!(
          unlock.input.parse({ username: "sven.dahl", privileged: false }),
          context("u-1"),
        ),
        {
          applied: true,
          result: first,
        },
      );
      assert.deepEqual(
        await unlock.reconcile!(
          unlock.input.parse({ username: "sven.dahl", privileged: false }),
          context("u-9"),
        ),
        {
          applied: false,
        },
      );
      await assert.rejects(
        callTool(unlock, { username: "priya.shah", privileged: false }, { idempotencyKey: "u-2" }),
        /priya\.shah is privileged/,
      );
      await assert.rejects(
        callTool(unlock, { username: "li.wei", privileged: false }, { idempotencyKey: "u-3" }),
        /is disabled, not locked/,
      );
      await assert.rejects(
        callTool(unlock, { username: "maya.okafor", privileged: false }, { idempotencyKey: "u-1" }),
        /already used to unlock sven\.dahl/,
      );
    });

    test("lookup_device and search_it_kb answer from the bundled directory", async () => {
      const device = (await callTool(tool("lookup_device"), { assetTag: "lt-2044" })) as { summary: string };
      assert.equal(
        device.summary,
        "Laptop LT-2044 (Dell Latitude 5440) is in stock, not assigned: ready to issue from the IT bar.",
      );
      assert.deepEqual(await callTool(tool("lookup_device"), { assetTag: "LT-0001" }), {
        found: false,
        assetTag: "LT-0001",
        summary: "No laptop has the asset tag LT-0001.",
      });
      const found = (await callTool(tool("search_it_kb"), { query: "new phone, MFA codes" })) as {
        articles: { slug: string }[];
      };
      assert.equal(found.articles[0]?.slug, "mfa");
      assert.deepEqual(await callTool(tool("search_it_kb"), { query: "coffee machine" }), { articles: [] });
    });
  });
}
