import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the classifier server received. */
export type ClassifierRequest = {
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
};

/** How the server answers the next request. */
export type ClassifierBehaviour = "answer" | "hang" | "malformed" | { status: number };

/**
 * A loopback server speaking the text-classification wire formats of a two-class prompt-injection classifier
 * (labels `SAFE` and `INJECTION`, as protectai/deberta-v3-base-prompt-injection-v2 names them), with the injection
 * probability made by `scoreOf`.
 */
export type LoopbackClassifier = {
  /** `http://127.0.0.1:<port>`: vLLM's `/classify`, SGLang's `/v1/classify`, TEI's `/predict`, HF's `/models/<id>`. */
  readonly url: string;
  readonly requests: ClassifierRequest[];
  /** How the following requests are answered (default `answer`). */
  behave(behaviour: ClassifierBehaviour): void;
  close(): Promise<void>;
};

/**
 * Start a server answering: vLLM's `POST /classify` and SGLang's `POST /v1/classify` (`{model, input}` answered with
 * `{id, object: "list", created, model, data: [{index, label, probs, num_classes}], usage}`); text-embeddings-
 * inference's `POST /predict` (`{inputs}` answered with every label's `{score, label}`, best first); and the
 * Hugging Face Inference API's `POST /models/<id>` (the same list, nested in another, one per input).
 */
export async function startLoopbackClassifier(options: {
  scoreOf: (text: string) => number;
}): Promise<LoopbackClassifier> {
  const requests: ClassifierRequest[] = [];
  let behaviour: ClassifierBehaviour = "answer";
  const hanging = new Set<ServerResponse>();
  const labelsOf = (text: string) => {
    const injection = options.scoreOf(text);
    const both = [
      { label: "SAFE", score: 1 - injection },
      { label: "INJECTION", score: injection },
    ];
    return both.sort((a, b) => b.score - a.score);
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      const path = request.url ?? "";
      requests.push({ path, headers: request.headers, body });
      response.setHeader("content-type", "application/json");
      if (behaviour === "hang") {
        hanging.add(response);
        return;
      }
      if (behaviour === "malformed") {
        response.end('{"data": [');
        return;
      }
      if (typeof behaviour === "object") {
        response.statusCode = behaviour.status;
        response.end(JSON.stringify({ error: `failing with ${behaviour.status}` }));
        return;
      }
      if (path === "/classify" || path === "/v1/classify") {
        const input = typeof body.input === "string" ? [body.input] : (body.input as string[]);
        const data = input.map((text, index) => {
          const injection = options.scoreOf(text);
          // Class 0 is SAFE and class 1 INJECTION, as the model's id2label says; `label` names the top class.
          return {
            index,
            label: injection >= 0.5 ? "INJECTION" : "SAFE",
            probs: [1 - injection, injection],
            num_classes: 2,
          };
        });
        const tokens = input.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
        response.end(
          JSON.stringify({
            id: `classify-${requests.length}`,
            object: "list",
            created: 1_745_383_213,
            model: body.model,
            data,
            usage: {
              prompt_tokens: tokens,
              total_tokens: tokens,
              completion_tokens: 0,
              prompt_tokens_details: null,
            },
          }),
        );
      } else if (path === "/predict") {
        response.end(JSON.stringify(labelsOf(body.inputs as string)));
      } else if (path.startsWith("/models/")) {
        response.end(JSON.stringify([labelsOf(body.inputs as string)]));
      } else {
        response.statusCode = 404;
        response.end(JSON.stringify({ error: `no route ${path}` }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave(next) {
      behaviour = next;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
