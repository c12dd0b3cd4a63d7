import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { readPiiCorpus } from "../../../test/support/score-pii-corpus.ts";
import { detectEntities, scanEveryDetector } from "./detect-entities.ts";
import { DETECTORS } from "./detectors.ts";
import type { EntityClass } from "./entity-types.ts";

const CLASS_SETS: ReadonlySet<EntityClass>[] = [
  new Set(["secrets"]),
  new Set(["pii"]),
  new Set(["pii", "secrets"]),
];

const corpus = readPiiCorpus();

/** Pieces of what detectors look for, so random texts reach every detector's hint and pattern often. */
const fragment = fc.oneof(
  fc.constantFrom(
    "AKIA",
    "ASIA",
    "ghp_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xapp-1-",
    "https://hooks.slack.com/services/",
    "sk_live_",
    "whsec_",
    "AIza",
    "GOCSPX-",
    "sk-ant-api03-",
    "sk-proj-",
    "SG.",
    "npm_",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9",
    ".eyJ",
    "://",
    "postgres://",
    "user:",
    "@",
    "password=",
    "Password is ",
    "pwd: ",
    "aws_secret_access_key=",
    "SECRET",
    "api_key: ",
    "Token ",
    "Bearer ",
    "Basic ",
    "\n",
    " ",
    "=",
    '"',
  ),
  fc.stringMatching(/^[A-Za-z0-9_\-+/=.]{8,64}$/),
  fc.stringMatching(/^[A-Z2-7]{16}$/),
  fc.string({ unit: "grapheme-ascii", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 6 }),
);
const text = fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join(""));

/** A corpus text cut and spliced at random, so every detector's real inputs arrive in shapes nobody wrote. */
const splicedCorpus = fc
  .tuple(fc.constantFrom(...corpus), fc.constantFrom(...corpus), fc.nat(), fc.nat())
  .map(
    ([a, b, cut, from]) =>
      a.text.slice(0, cut % (a.text.length + 1)) + b.text.slice(from % (b.text.length + 1)),
  );

test("the pre-filter never skips a text a scan of every detector would mask something in, on random texts", () => {
  fc.assert(
    fc.property(fc.oneof(text, splicedCorpus), (value) => {
      for (const classes of CLASS_SETS) {
        assert.deepEqual(detectEntities(value, classes), scanEveryDetector(value, classes));
      }
    }),
    { numRuns: 10_000 },
  );
});

test("the pre-filter never skips a text a scan of every detector would mask something in, on the whole corpus", () => {
  let masked = 0;
  for (const row of corpus) {
    for (const classes of CLASS_SETS) {
      const findings = scanEveryDetector(row.text, classes);
      masked += findings.length;
      assert.deepEqual(detectEntities(row.text, classes), findings, row.id);
    }
  }
  // The comparison means something only if the scan finds plenty.
  assert.ok(masked > 1_000, `${masked} findings`);
});

test("every secrets detector has a hint its pattern cannot match without, so the pre-filter covers secrets", () => {
  const secrets = DETECTORS.filter((detector) => detector.class === "secrets");
  for (const detector of secrets) assert.ok(detector.hint, `${detector.type} has no hint`);
  const positives = corpus.filter(
    (row) => row.label === "positive" && secrets.some((detector) => detector.type === row.type),
  );
  fc.assert(
    fc.property(
      fc.oneof(text, splicedCorpus, fc.constantFrom(...positives.map((row) => row.text))),
      (value) => {
        for (const detector of secrets) {
          const pattern = new RegExp(detector.pattern.source, detector.pattern.flags.replace("g", ""));
          if (pattern.test(value))
            assert.ok(detector.hint!.test(value), `${detector.type} matched without its hint`);
        }
      },
    ),
    { numRuns: 10_000 },
  );
});

test("finds an AWS access key id through the pre-filter, and skips ids and tool names", () => {
  const secrets = new Set<EntityClass>(["secrets"]);
  assert.deepEqual(detectEntities("key AKIAIOSFODNN7ABCDEFG here", secrets), [
    { type: "aws_access_key_id", class: "secrets", start: 4, end: 24 },
  ]);
  assert.deepEqual(detectEntities("tool-calls", secrets), []);
  assert.deepEqual(detectEntities("run_0mxb2hiii2bf33e82aa0c8533:call_2", secrets), []);
});
