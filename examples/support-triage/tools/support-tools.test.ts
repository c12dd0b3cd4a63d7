import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import type { Tool } from "../../../src/tools/tool.ts";
import { setupShop } from "../shop/setup-shop.ts";
import { callTool, type ShopDatabase, shopDatabaseKinds } from "../test-shop-databases.ts";
import { createSupportTools } from "./create-support-tools.ts";

type Tools = Record<"search_kb" | "get_order" | "create_ticket" | "issue_refund" | "send_email", Tool>;

function byName(tools: Tool[]): Tools {
  return Object.fromEntries(tools.map((tool) => [tool.name, tool])) as Tools;
}

async function countRows(database: ShopDatabase, table: string): Promise<number> {
  const { rows } = await database.sql.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM shop.${table}`,
  );
  return rows[0]!.count;
}

describe("createSupportTools", () => {
  test("returns the five tools of the agent, side-effecting ones marked as such", () => {
    const tools = createSupportTools({
      sql: { query: async () => ({ rows: [] }), transaction: async (work) => await work(null!) },
    });
    assert.deepEqual(
      tools.map((tool) => `${tool.name}${tool.sideEffect ? " (side effect)" : ""}`),
      [
        "search_kb",
        "get_order",
        "create_ticket (side effect)",
        "issue_refund (side effect)",
        "send_email (side effect)",
      ],
    );
    for (const tool of tools) {
      assert.ok(tool.output, `${tool.name} has an output schema`);
      assert.equal(z.toJSONSchema(tool.input, { io: "input", unrepresentable: "any" }).type, "object");
    }
  });
});

for (const kind of shopDatabaseKinds()) {
  describe(`support tools ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    let tools: Tools;
    before(async () => {
      database = await kind.open();
      await setupShop(database.sql);
      tools = byName(createSupportTools({ sql: database.sql }));
    });
    after(async () => await database?.close());

    describe("search_kb", () => {
      test("finds the refund article for 'how long does a refund take'", async () => {
        const result = (await callTool(tools.search_kb, { query: "how long does a refund take" })) as {
          articles: { slug: string; title: string; snippet: string; rank: number }[];
        };
        assert.equal(result.articles[0]?.slug, "refunds");
        assert.equal(result.articles[0]?.title, "How long does a refund take?");
        assert.match(result.articles[0]!.snippet, /^Once we issue a refund, .*5–10 business days/);
        assert.doesNotMatch(result.articles[0]!.snippet, /\n|\*\*/, "one line of plain text");
        assert.ok(result.articles[0]!.rank > 0);
      });

      test("falls back to articles matching any word when none matches every word", async () => {
        const result = (await callTool(tools.search_kb, {
          query: "Can I pay with PayPal or with my grandmother's cheque?",
          limit: 1,
        })) as { articles: { slug: string }[] };
        assert.deepEqual(
          result.articles.map((article) => article.slug),
          ["payment-methods"],
        );
      });

      test("returns an empty list, not an error, when nothing matches", async () => {
        assert.deepEqual(await callTool(tools.search_kb, { query: "zeppelin xylophone" }), { articles: [] });
        assert.deepEqual(await callTool(tools.search_kb, { query: "the and of" }), { articles: [] });
      });

      test("keeps quotes and operators in a query from breaking the search", async () => {
        const result = (await callTool(tools.search_kb, {
          query: `"gift card" -expired O'Brien \\ | & !`,
        })) as {
          articles: { slug: string }[];
        };
        assert.equal(result.articles[0]?.slug, "gift-cards");
      });

      test("rejects an empty query and a limit above ten", () => {
        assert.equal(tools.search_kb.input.safeParse({ query: "  " }).success, false);
        assert.equal(tools.search_kb.input.safeParse({ query: "refund", limit: 11 }).success, false);
      });
    });

    describe("get_order", () => {
      test("returns a shipped order with carrier, tracking number, items and money as decimal strings", async () => {
        const order = await callTool(tools.get_order, { orderId: 1042 });
        assert.deepEqual(order, {
          orderId: 1042,
          status: "shipped",
          paymentStatus: "paid",
          placedOn: "2025-10-26",
          shippedOn: "2025-10-28",
          deliveredOn: null,
          cancelledOn: null,
          carrier: "UPS",
          trackingNumber: "1ZLH42A80312104284",
          currency: "USD",
          items: [
            {
              sku: "LH-THR-01",
              name: "Linen throw, oat",
              quantity: 1,
              unitPrice: "68.00",
              lineTotal: "68.00",
            },
            {
              sku: "LH-MUG-01",
              name: "Stoneware mug, sage",
              quantity: 2,
              unitPrice: "14.00",
              lineTotal: "28.00",
            },
          ],
          total: "96.00",
          refundedAmount: "0.00",
          refundableAmount: "96.00",
          customerFirstName: "Ada",
        });
      });

      test("accepts the order number as a string, with or without #", async () => {
        const fromString = (await callTool(tools.get_order, { orderId: "1038" })) as { status: string };
        const fromHash = (await callTool(tools.get_order, { orderId: "#1038" })) as { status: string };
        assert.equal(fromString.status, "delivered");
        assert.equal(fromHash.status, "delivered");
      });

      test("reports refunds so far and what is left to refund", async () => {
        const order = (await callTool(tools.get_order, { orderId: 1036 })) as Record<string, unknown>;
        assert.deepEqual(
          [order.total, order.refundedAmount, order.refundableAmount],
          ["237.50", "56.00", "181.50"],
        );
      });

      test("fails with a clear message for an unknown order", async () => {
        await assert.rejects(callTool(tools.get_order, { orderId: 9999 }), {
          code: "not_found",
          message: "Order 9999 was not found.",
        });
      });

      test("rejects order numbers that are not positive whole numbers", () => {
        for (const orderId of [0, -3, 10.5, "12a", "", true, null, 99_999_999_999]) {
          assert.equal(
            tools.get_order.input.safeParse({ orderId }).success,
            false,
            `orderId ${String(orderId)}`,
          );
        }
      });

      test("stops before querying when the call is already aborted", async () => {
        const controller = new AbortController();
        controller.abort(new Error("cancelled by test"));
        await assert.rejects(
          callTool(tools.get_order, { orderId: 1042 }, { signal: controller.signal }),
          /cancelled by test/,
        );
      });
    });

    describe("create_ticket", () => {
      const ticket = {
        subject: "Lamp flickers",
        body: "Customer says the brass lamp flickers.",
        priority: "normal",
      };

      test("opens a ticket and returns it", async () => {
        const result = (await callTool(tools.create_ticket, { ...ticket, orderId: "1045" })) as Record<
          string,
          unknown
        >;
        assert.equal(typeof result.ticketId, "number");
        assert.equal(result.status, "open");
        assert.equal(result.orderId, 1045);
        assert.match(String(result.createdAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      });

      test("writes one row for two calls with the same idempotency key, two rows for different keys", async () => {
        const rowsBefore = await countRows(database, "tickets");
        const first = await callTool(tools.create_ticket, ticket, { idempotencyKey: "ticket-key-1" });
        const retry = await callTool(tools.create_ticket, ticket, { idempotencyKey: "ticket-key-1" });
        assert.deepEqual(retry, first);
        assert.equal(await countRows(database, "tickets"), rowsBefore + 1);
        await callTool(tools.create_ticket, ticket, { idempotencyKey: "ticket-key-2" });
        assert.equal(await countRows(database, "tickets"), rowsBefore + 2);
      });

      test("refuses to reuse an idempotency key for a different ticket", async () => {
        await callTool(tools.create_ticket, ticket, { idempotencyKey: "ticket-key-3" });
        await assert.rejects(
          callTool(tools.create_ticket, { ...ticket, priority: "high" }, { idempotencyKey: "ticket-key-3" }),
          { code: "conflict", message: /already used for a different ticket/ },
        );
      });

      test("rejects an unknown priority and an empty subject", () => {
        assert.equal(tools.create_ticket.input.safeParse({ ...ticket, priority: "urgent" }).success, false);
        assert.equal(tools.create_ticket.input.safeParse({ ...ticket, subject: "" }).success, false);
      });

      test("writes nothing when the call is already aborted", async () => {
        const rowsBefore = await countRows(database, "tickets");
        const controller = new AbortController();
        controller.abort();
        await assert.rejects(callTool(tools.create_ticket, ticket, { signal: controller.signal }));
        assert.equal(await countRows(database, "tickets"), rowsBefore);
      });
    });

    describe("issue_refund", () => {
      test("refunds part of an order and reports what is left", async () => {
        const refund = (await callTool(
          tools.issue_refund,
          { orderId: 1038, amount: 20.5, reason: "Lamp shade dented" },
          { idempotencyKey: "refund-1038-a" },
        )) as Record<string, unknown>;
        assert.equal(typeof refund.refundId, "number");
        assert.deepEqual(
          [refund.orderId, refund.amount, refund.currency, refund.refundedAmount, refund.remainingAmount],
          [1038, "20.50", "USD", "20.50", "146.50"],
        );
      });

      test("accepts the amount as a decimal string, as get_order returns it", async () => {
        const refund = (await callTool(
          tools.issue_refund,
          { orderId: "1038", amount: "146.50", reason: "Customer returned the rest" },
          { idempotencyKey: "refund-1038-b" },
        )) as Record<string, unknown>;
        assert.deepEqual([refund.amount, refund.remainingAmount], ["146.50", "0.00"]);
      });

      test("writes one row for two calls with the same idempotency key, even once nothing is left to refund", async () => {
        const rowsBefore = await countRows(database, "refunds");
        const input = { orderId: 1041, amount: "42.00", reason: "Bowl arrived cracked" };
        const first = await callTool(tools.issue_refund, input, { idempotencyKey: "refund-1041" });
        const retry = await callTool(tools.issue_refund, input, { idempotencyKey: "refund-1041" });
        assert.deepEqual(retry, first);
        assert.equal(await countRows(database, "refunds"), rowsBefore + 1);
      });

      test("writes two rows for two calls with different idempotency keys", async () => {
        const rowsBefore = await countRows(database, "refunds");
        const input = { orderId: 1040, amount: 10, reason: "Goodwill credit" };
        await callTool(tools.issue_refund, input, { idempotencyKey: "refund-1040-a" });
        await callTool(tools.issue_refund, input, { idempotencyKey: "refund-1040-b" });
        assert.equal(await countRows(database, "refunds"), rowsBefore + 2);
      });

      test("refuses more than the order total minus what was already refunded", async () => {
        await assert.rejects(
          callTool(tools.issue_refund, { orderId: 1036, amount: 181.51, reason: "Too much" }),
          {
            code: "conflict",
            message:
              "A refund of 181.51 USD is more than the 181.50 USD left to refund on order 1036 " +
              "(total 237.50, refunded so far 56.00).",
          },
        );
      });

      test("refuses an order that has already been refunded in full", async () => {
        await assert.rejects(callTool(tools.issue_refund, { orderId: 1030, amount: 1, reason: "Again" }), {
          code: "conflict",
          message: "Order 1030 has already been refunded in full.",
        });
      });

      test("refuses cancelled and unpaid orders", async () => {
        await assert.rejects(
          callTool(tools.issue_refund, { orderId: 1043, amount: 10, reason: "Cancelled" }),
          {
            code: "conflict",
            message: "Order 1043 was cancelled, so there is no payment to refund.",
          },
        );
        await assert.rejects(callTool(tools.issue_refund, { orderId: 1047, amount: 10, reason: "Unpaid" }), {
          code: "conflict",
          message: "Order 1047 has not been paid (payment pending), so there is nothing to refund.",
        });
      });

      test("fails with a clear message for an unknown order", async () => {
        await assert.rejects(callTool(tools.issue_refund, { orderId: 9999, amount: 10, reason: "Unknown" }), {
          code: "not_found",
          message: "Order 9999 was not found.",
        });
      });

      test("refuses to reuse an idempotency key for a different refund", async () => {
        await callTool(
          tools.issue_refund,
          { orderId: 1044, amount: 5, reason: "Chipped" },
          { idempotencyKey: "refund-1044" },
        );
        await assert.rejects(
          callTool(
            tools.issue_refund,
            { orderId: 1044, amount: 6, reason: "Chipped" },
            { idempotencyKey: "refund-1044" },
          ),
          { code: "conflict", message: /already used for a different refund/ },
        );
      });

      test("rejects amounts that are zero, negative, or finer than a cent", () => {
        for (const amount of [0, -5, 10.005, "1.234", "ten", "", Number.NaN, Number.POSITIVE_INFINITY]) {
          const parsed = tools.issue_refund.input.safeParse({ orderId: 1042, amount, reason: "Test" });
          assert.equal(parsed.success, false, `amount ${String(amount)}`);
        }
        const parsed = tools.issue_refund.input.safeParse({ orderId: 1042, amount: 19.99, reason: "Test" });
        assert.deepEqual(parsed.data, { orderId: 1042, amount: 1999, reason: "Test" });
      });

      test("changes nothing but the refunds table", async () => {
        const before = await database.sql.query("SELECT * FROM shop.orders WHERE id = 1046");
        await callTool(tools.issue_refund, { orderId: 1046, amount: 1, reason: "Late delivery credit" });
        assert.deepEqual(
          (await database.sql.query("SELECT * FROM shop.orders WHERE id = 1046")).rows,
          before.rows,
        );
      });

      test("lets only one of two concurrent full refunds of one order through", async () => {
        const input = { orderId: 1049, amount: "168.00", reason: "Returned unused" };
        const outcomes = await Promise.allSettled([
          callTool(tools.issue_refund, input, { idempotencyKey: "refund-1049-a" }),
          callTool(tools.issue_refund, input, { idempotencyKey: "refund-1049-b" }),
        ]);
        assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ["fulfilled", "rejected"]);
        const { rows } = await database.sql.query<{ count: number }>(
          "SELECT count(*)::int AS count FROM shop.refunds WHERE order_id = 1049",
        );
        assert.equal(rows[0]!.count, 1);
      });
    });

    describe("send_email", () => {
      const email = { to: "ada.okafor@example.com", subject: "Your refund", body: "We refunded 96.00 USD." };

      test("queues the email in the outbox and sends nothing", async () => {
        const result = (await callTool(tools.send_email, email)) as Record<string, unknown>;
        assert.equal(result.status, "queued");
        assert.equal(result.to, "ada.okafor@example.com");
        const { rows } = await database.sql.query<{ status: string; sent_at: unknown }>(
          "SELECT status, sent_at FROM shop.outbox_emails WHERE id = $1",
          [result.emailId],
        );
        assert.deepEqual(rows, [{ status: "queued", sent_at: null }]);
      });

      test("writes one row for two calls with the same idempotency key, two rows for different keys", async () => {
        const rowsBefore = await countRows(database, "outbox_emails");
        const first = await callTool(tools.send_email, email, { idempotencyKey: "email-key-1" });
        assert.deepEqual(await callTool(tools.send_email, email, { idempotencyKey: "email-key-1" }), first);
        assert.equal(await countRows(database, "outbox_emails"), rowsBefore + 1);
        await callTool(tools.send_email, email, { idempotencyKey: "email-key-2" });
        assert.equal(await countRows(database, "outbox_emails"), rowsBefore + 2);
      });

      test("refuses to reuse an idempotency key for a different email", async () => {
        await callTool(tools.send_email, email, { idempotencyKey: "email-key-3" });
        await assert.rejects(
          callTool(tools.send_email, { ...email, subject: "Another" }, { idempotencyKey: "email-key-3" }),
          { code: "conflict" },
        );
      });

      test("rejects an address that is not an email address", () => {
        assert.equal(tools.send_email.input.safeParse({ ...email, to: "ada at example" }).success, false);
      });
    });

    describe("reconcile hooks", () => {
      const changed = {
        create_ticket: { subject: "Another" },
        issue_refund: { reason: "another reason" },
        send_email: { subject: "Another" },
      } as const;
      const calls = {
        create_ticket: {
          subject: "Lost parcel",
          body: "Order 1042 never arrived.",
          priority: "high",
          orderId: 1042,
        },
        issue_refund: { orderId: 1042, amount: "1.00", reason: "damaged item, partial refund" },
        send_email: { to: "ada@example.com", subject: "Your refund", body: "It is on its way." },
      } as const;

      for (const name of ["create_ticket", "issue_refund", "send_email"] as const) {
        test(`${name} finds out by idempotency key whether an attempt took effect, and what it returned`, async () => {
          const tool = tools[name];
          const key = `reconcile-${name}-${crypto.randomUUID()}`;
          const context = { runId: "run_test", callId: "call_test", idempotencyKey: key };
          const input = tool.input.parse(calls[name]);
          const reconcile = tool.reconcile!;
          const signal = new AbortController().signal;
          assert.deepEqual(await reconcile(input, { ...context, signal }), { applied: false });
          const result = await callTool(tool, calls[name], { idempotencyKey: key });
          const found = await reconcile(input, { ...context, signal });
          assert.deepEqual(found, { applied: true, result });
          const other = tool.input.parse({ ...calls[name], ...changed[name] });
          await assert.rejects(reconcile(other, { ...context, signal }), { code: "conflict" });
        });
      }
    });
  });
}
