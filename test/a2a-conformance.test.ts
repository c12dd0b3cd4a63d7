import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Role, type Task, TaskState } from "@a2a-js/sdk";
import { ClientFactory } from "@a2a-js/sdk/client";
import { type KeelServer, startKeelServer } from "./support/keel-server.ts";

/** The interface an outside A2A caller uses: `keel serve` in development mode, the official client, the card URL. */
describe("keel serve's A2A agents, reached with the official A2A client from the card URL", () => {
  let server: KeelServer;

  before(async () => {
    server = await startKeelServer({ dataDir: mkdtempSync(join(tmpdir(), "keel-a2a-")) });
  });
  after(async () => {
    await server.stop();
  });

  test("serves support-triage's Agent Card and answers an order-status question", async () => {
    const cardUrl = `${server.url}/a2a/support-triage/.well-known/agent-card.json`;
    const response = await fetch(cardUrl);
    assert.equal(response.status, 200);
    const card = (await response.json()) as { name: string; supportedInterfaces: { url: string }[] };
    assert.equal(card.name, "support-triage");
    assert.equal(card.supportedInterfaces[0]?.url, `${server.url}/a2a/support-triage`);

    const client = await new ClientFactory().createFromUrl(cardUrl, "");
    const result = await client.sendMessage({
      tenant: "",
      message: {
        messageId: randomUUID(),
        contextId: "",
        taskId: "",
        role: Role.ROLE_USER,
        parts: [
          {
            content: { $case: "text", value: "Where is my order 1042?" },
            metadata: undefined,
            filename: "",
            mediaType: "",
          },
        ],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: undefined,
    });
    const task = result as Task;
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    const answer = task.artifacts[0]?.parts[0]?.content;
    assert.equal(answer?.$case, "text");
    assert.match(answer.$case === "text" ? answer.value : "", /order 1042 shipped/i);
  });
});
