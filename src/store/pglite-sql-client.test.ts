import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { pgliteSqlClient } from "./pglite-sql-client.ts";
import type { SqlClient } from "./store.ts";

// A prepared statement must answer exactly as PGlite's own `query` does: the same rows, errors, notifications and
// transaction boundaries, only in fewer calls.

let db: PGlite;
let sql: SqlClient;

before(async () => {
  db = new PGlite();
  await db.waitReady;
  sql = pgliteSqlClient(db);
  await db.exec(`CREATE TABLE things (
    id text PRIMARY KEY, n bigint, at timestamptz, doc jsonb, tags text[], raw bytea, flag boolean, note text)`);
});

after(async () => {
  await db.close();
});

const INSERT = `INSERT INTO things (id, n, at, doc, tags, raw, flag, note)
  VALUES ($1, $2, $3::timestamptz, $4::jsonb, $5::text[], decode($6, 'hex'), $7, $8) RETURNING *`;
const SELECT = "SELECT * FROM things WHERE id = $1";

test("a prepared statement returns the rows query returns, for every column type and for null parameters", async () => {
  const rows = [
    [
      "a",
      42,
      "2026-12-07T09:00:00.000Z",
      JSON.stringify({ k: ["v", 1, null] }),
      ["x", "y,z", 'q"'],
      "00ff",
      true,
      "é ✓",
    ],
    ["b", null, null, null, null, null, null, null],
  ];
  for (const values of rows) {
    const inserted = await sql.query(INSERT, values, { prepared: "test_insert" });
    const plain = await sql.query(SELECT, [values[0]]);
    const prepared = await sql.query(SELECT, [values[0]], { prepared: "test_select" });
    assert.deepEqual(prepared.rows, plain.rows);
    assert.deepEqual(inserted.rows, plain.rows);
  }
  const [first] = (
    await sql.query<{ tags: string[]; raw: Uint8Array; doc: unknown }>(SELECT, ["a"], {
      prepared: "test_select",
    })
  ).rows;
  assert.deepEqual(first!.tags, ["x", "y,z", 'q"']);
  assert.deepEqual([...first!.raw], [0, 255]);
  assert.deepEqual(first!.doc, { k: ["v", 1, null] });
  assert.deepEqual((await sql.query(SELECT, ["none"], { prepared: "test_select" })).rows, []);
});

test("a database error comes back with its code, and the statement still runs afterwards", async () => {
  await sql.query(INSERT, ["dup", 1, null, null, null, null, null, null], { prepared: "test_insert" });
  await assert.rejects(
    sql.query(INSERT, ["dup", 2, null, null, null, null, null, null], { prepared: "test_insert" }),
    (error: { code?: string }) => error.code === "23505",
  );
  const rows = (await sql.query<{ n: number }>(SELECT, ["dup"], { prepared: "test_select" })).rows;
  assert.equal(Number(rows[0]!.n), 1);
});

test("one name with two texts is refused rather than run as the other", async () => {
  await sql.query("SELECT 1 AS one", [], { prepared: "test_one" });
  await assert.rejects(sql.query("SELECT 2 AS two", [], { prepared: "test_one" }), /two different texts/);
});

test("a NOTIFY sent by a prepared statement reaches the instance's listeners", async () => {
  const heard: string[] = [];
  const stop = await db.listen("test_channel", (payload) => heard.push(payload));
  try {
    await sql.query("SELECT pg_notify('test_channel', $1)", ["hello"], { prepared: "test_notify" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(heard, ["hello"]);
  } finally {
    await stop();
  }
});

test("inside a transaction it is part of it, and it rolls back with it", async () => {
  await assert.rejects(
    sql.transaction(async (tx) => {
      await tx.query(INSERT, ["in-tx", 7, null, null, null, null, null, null], { prepared: "test_insert" });
      const seen = await tx.query(SELECT, ["in-tx"], { prepared: "test_select" });
      assert.equal(seen.rows.length, 1);
      throw new Error("roll back");
    }),
    /roll back/,
  );
  assert.deepEqual((await sql.query(SELECT, ["in-tx"], { prepared: "test_select" })).rows, []);
});

test("outside a transaction it waits for another caller's open transaction instead of running inside it", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let inserted!: () => void;
  const insertedInTx = new Promise<void>((resolve) => {
    inserted = resolve;
  });
  const transaction = sql.transaction(async (tx) => {
    await tx.query(INSERT, ["other-tx", 1, null, null, null, null, null, null], { prepared: "test_insert" });
    inserted();
    await held;
    throw new Error("abandoned");
  });
  await insertedInTx;
  // Were it sent inside the open transaction, this insert would be rolled back with it.
  const outside = sql.query(INSERT, ["outside", 2, null, null, null, null, null, null], {
    prepared: "test_insert",
  });
  // Time enough for it to run, had it not waited.
  await new Promise((resolve) => setTimeout(resolve, 100));
  release();
  await assert.rejects(transaction, /abandoned/);
  await outside;
  assert.deepEqual((await sql.query(SELECT, ["other-tx"], { prepared: "test_select" })).rows, []);
  assert.equal((await sql.query(SELECT, ["outside"], { prepared: "test_select" })).rows.length, 1);
});

test("a closed instance refuses a prepared statement as it refuses a query", async () => {
  const closed = new PGlite();
  await closed.waitReady;
  const client = pgliteSqlClient(closed);
  await client.query("SELECT 1", [], { prepared: "test_closed" });
  await closed.close();
  await assert.rejects(client.query("SELECT 1", [], { prepared: "test_closed" }), /closed/);
  await assert.rejects(client.query("SELECT 1"), /closed/);
});
