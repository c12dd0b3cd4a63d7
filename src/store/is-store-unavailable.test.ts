import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { KeelError } from "../errors/keel-error.ts";
import { isStoreUnavailable } from "./is-store-unavailable.ts";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

test("calls a refused PostgreSQL connection unavailable", async () => {
  // Nothing listens on port 1 of the loopback address: the kernel refuses at once.
  const client = new pg.Client({ connectionString: "postgres://keel@127.0.0.1:1/postgres" });
  const error = await rejection(client.connect());
  assert.equal(isStoreUnavailable(error), true, String(error));
});

test("finds the connection error behind a wrapping error's cause", async () => {
  const client = new pg.Client({ connectionString: "postgres://keel@127.0.0.1:1/postgres" });
  const refused = await rejection(client.connect());
  assert.equal(isStoreUnavailable(new Error("claiming runs failed", { cause: refused })), true);
});

describe("on an embedded database", () => {
  const db = new PGlite();

  test("does not call a bad query, a constraint violation or a Keel error unavailable", async () => {
    await db.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
    assert.equal(isStoreUnavailable(await rejection(db.query("SELEC 1"))), false);
    assert.equal(isStoreUnavailable(await rejection(db.query("INSERT INTO t VALUES (1)"))), false);
    assert.equal(isStoreUnavailable(new KeelError("not_found", "run r does not exist")), false);
    assert.equal(isStoreUnavailable(undefined), false);
    assert.equal(isStoreUnavailable("ECONNREFUSED"), false);
  });

  test("calls a query on a closed PGlite unavailable", async () => {
    await db.close();
    const error = await rejection(db.query("SELECT 1"));
    assert.equal(isStoreUnavailable(error), true, String(error));
  });
});
