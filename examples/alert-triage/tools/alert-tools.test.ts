import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Tool } from "../../../src/tools/tool.ts";
import { callTool, type ShopDatabase, shopDatabaseKinds } from "../../support-triage/test-shop-databases.ts";
import { createAlertTriageTools, setupAlertTriage } from "./containment-tools.ts";

for (const kind of shopDatabaseKinds()) {
  describe(`the alert-triage tools ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    let tools: Map<string, Tool>;
    const tool = (name: string) => tools.get(name)!;
    before(async () => {
      database = await kind.open();
      await setupAlertTriage(database.sql);
      await setupAlertTriage(database.sql);
      tools = new Map(createAlertTriageTools({ sql: database.sql }).map((entry) => [entry.name, entry]));
    });
    after(async () => {
      await database?.close();
    });

    test("get_alert reads the first alert id in a text, with its host's and user's standing", async () => {
      const alert = (await callTool(tool("get_alert"), { query: "see alr-1006 and ALR-1001" })) as Record<
        string,
        unknown
      >;
      assert.equal(alert.id, "ALR-1006");
      assert.equal(alert.hostCritical, true);
      assert.equal(alert.userPrivileged, true);
      assert.equal(
        ((await callTool(tool("get_alert"), { query: "ALR-9999" })) as { found: boolean }).found,
        false,
      );
    });

    test("run_step looks things up, and a log search on a host whose index is down fails where the timeline works", async () => {
      const step = (action: string, target: string) => callTool(tool("run_step"), { action, target });
      assert.deepEqual(await step("check_ioc", "hash-7f3a9c"), {
        action: "check_ioc",
        target: "hash-7f3a9c",
        malicious: true,
        summary: "hash-7f3a9c: malicious, known loader (threat feed).",
      });
      assert.equal(
        ((await step("check_ioc", "ip-198.51.100.20")) as { malicious: boolean }).malicious,
        false,
      );
      await assert.rejects(step("search_logs", "DC-01"), /log index of DC-01 is unavailable/);
      assert.equal(((await step("edr_timeline", "DC-01")) as { malicious: boolean }).malicious, true);
      await assert.rejects(step("host_info", "WS-999"), /No host WS-999/);
    });

    test("assess_findings confirms on any malicious finding and counts the failed steps", async () => {
      const assessed = await callTool(tool("assess_findings"), {
        alertId: "ALR-1003",
        kind: "malware",
        host: "DC-01",
        user: "svc.backup",
        round: 2,
        findings: [
          null,
          { action: "edr_timeline", target: "DC-01", malicious: true, summary: "DC-01: bad." },
        ],
        failed: [{ index: 0, error: "down" }],
      });
      assert.deepEqual(assessed, {
        confirmed: true,
        failed: 1,
        verdict:
          "Alert ALR-1003 (malware on DC-01, user svc.backup): confirmed malicious. Re-planned once after a failed step. [!] DC-01: bad.",
      });
    });

    test("containment acts once per key and refuses a call that understates a target's criticality or privilege", async () => {
      const args = { host: "WS-112", critical: false, alertId: "ALR-1001" };
      const first = await callTool(tool("isolate_host"), args, { idempotencyKey: "c-1" });
      assert.deepEqual(await callTool(tool("isolate_host"), args, { idempotencyKey: "c-1" }), first);
      const context = (idempotencyKey: string) => ({
        runId: "r",
        callId: "c",
        idempotencyKey,
        signal: new AbortController().signal,
      });
      assert.deepEqual(
        await tool("isolate_host").reconcile!(tool("isolate_host").input.parse(args), context("c-1")),
        {
          applied: true,
          result: first,
        },
      );
      assert.deepEqual(
        await tool("isolate_host").reconcile!(tool("isolate_host").input.parse(args), context("c-2")),
        { applied: false },
      );
      await assert.rejects(
        callTool(tool("isolate_host"), { host: "DC-01", critical: false, alertId: "ALR-1003" }),
        /DC-01 is critical/,
      );
      await assert.rejects(
        callTool(tool("disable_account"), { user: "priya.shah", privileged: false, alertId: "ALR-1006" }),
        /priya\.shah is privileged/,
      );
      await assert.rejects(
        callTool(
          tool("disable_account"),
          { user: "jonas.berg", privileged: false, alertId: "ALR-1004" },
          { idempotencyKey: "c-1" },
        ),
        /already used/,
      );
      const rows = await database.sql.query("SELECT 1 FROM alert_triage.containment");
      assert.equal(rows.rows.length, 1);
    });
  });
}
