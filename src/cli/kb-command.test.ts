import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { main } from "./main.ts";

/**
 * Run `keel` in this process, as its own process would (the command reads only the environment it is given), and
 * collect what it printed: a node process per command only repeated the start-up.
 */
async function keel(
  args: string[],
  databaseUrl = "",
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const io = captureIo({ DATABASE_URL: databaseUrl, KEEL_PACKAGES: "" });
  const code = await main(args, io);
  return { code, stdout: io.stdout.join("\n"), stderr: io.stderr.join("\n") };
}

type Report = {
  kb: string;
  tenant: string;
  embedding: string;
  files: { source: string; outcome: string; chunks: number; updatedAt: string }[];
  removed: string[];
};

describe("keel kb ingest", () => {
  const dirs: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const store of ["PGlite", "PostgreSQL"] as const) {
    test(`ingests Markdown, text and HTML with source and updatedAt, skips unchanged files on a re-run, and replaces changed ones (${store})`, async (t) => {
      const server = store === "PostgreSQL" ? testDatabaseServerUrl() : null;
      if (store === "PostgreSQL" && !server) return t.skip("PostgreSQL is not installed");
      // On PostgreSQL the store is DATABASE_URL's, which wins over --data-dir.
      const databaseUrl = server ? await createTestDatabase(server) : "";
      const docs = tempDir("keel-kb-docs-");
      const dataDir = tempDir("keel-kb-data-");
      mkdirSync(join(docs, "policies"));
      writeFileSync(
        join(docs, "returns.md"),
        "---\nupdatedAt: 2026-03-01\n---\n# Returns\n\nReturn items within 30 days.\n\n## Exceptions\n\nGift cards cannot be returned.\n",
      );
      writeFileSync(join(docs, "policies", "warranty.txt"), "Furniture has a two-year warranty.\n");
      writeFileSync(
        join(docs, "shipping.html"),
        "<html><body><h1>Shipping</h1><p>We ship to Canada &amp; the UK.</p><script>track()</script></body></html>",
      );
      writeFileSync(join(docs, "logo.png"), "not a document");
      const args = [
        "kb",
        "ingest",
        docs,
        "--kb",
        "help",
        "--tenant",
        "acme",
        "--data-dir",
        dataDir,
        "--json",
      ];

      const first = await keel(args, databaseUrl);
      assert.equal(first.code, 0, first.stderr);
      const report = JSON.parse(first.stdout) as Report;
      assert.equal(report.embedding, "none (full-text search only)");
      assert.deepEqual(
        report.files.map((file) => [file.source, file.outcome, file.chunks]),
        [
          ["policies/warranty.txt", "added", 1],
          ["returns.md", "added", 2],
          ["shipping.html", "added", 1],
        ],
      );
      assert.equal(
        report.files.find((file) => file.source === "returns.md")!.updatedAt,
        "2026-03-01T00:00:00.000Z",
      );

      const again = JSON.parse((await keel(args, databaseUrl)).stdout) as Report;
      assert.deepEqual(
        again.files.map((file) => file.outcome),
        ["unchanged", "unchanged", "unchanged"],
      );

      writeFileSync(join(docs, "policies", "warranty.txt"), "Furniture has a three-year warranty.\n");
      unlinkSync(join(docs, "shipping.html"));
      const changed = await keel(args.slice(0, -1), databaseUrl);
      assert.equal(changed.code, 0, changed.stderr);
      assert.match(changed.stdout, /replaced {2}policies\/warranty\.txt \(1 chunks/);
      assert.match(changed.stdout, /removed {3}shipping\.html/);
      assert.match(changed.stdout, /0 added, 1 replaced, 1 unchanged, 1 removed/);
    });
  }

  test("bad arguments are refused with exit code 2 and a message naming the argument, before any store is opened", async () => {
    const docs = tempDir("keel-kb-bad-");
    const dataDir = tempDir("keel-kb-data-");
    writeFileSync(join(docs, "a.md"), "# A\n\ntext\n");
    const cases: [string[], RegExp][] = [
      [["kb", "ingest", docs, "--data-dir", dataDir], /needs --agent A or --kb NAME/],
      [["kb", "ingest", "--kb", "help"], /keel kb ingest <dir>/],
      [
        ["kb", "ingest", docs, "--kb", "Help Centre", "--data-dir", dataDir],
        /--kb: expected 1 to 63 lowercase/,
      ],
      [
        ["kb", "ingest", docs, "--kb", "help", "--chunk-chars", "5", "--data-dir", dataDir],
        /--chunk-chars: expected a whole number/,
      ],
      [
        ["kb", "ingest", docs, "--kb", "help", "--freshness", "soon", "--data-dir", dataDir],
        /--freshness: expected a duration/,
      ],
      [
        ["kb", "ingest", docs, "--kb", "help", "--embedding", "openai", "--data-dir", dataDir],
        /--embedding: only "offline"/,
      ],
      [["kb", "ingest", join(docs, "missing"), "--kb", "help", "--data-dir", dataDir], /is not a directory/],
    ];
    await Promise.all(
      cases.map(async ([args, message]) => {
        const result = await keel(args);
        assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, message);
        assert.doesNotMatch(result.stderr, /created one/);
      }),
    );
  });
});
