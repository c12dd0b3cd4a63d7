/** A loopback OpenAI-wire provider in its own process for the gateway benchmarks; prints its base URL. */
import { startLoopbackProvider } from "../src/models/loopback/loopback-provider-server.ts";

const provider = await startLoopbackProvider({
  wire: "openai",
  record: false,
  defaultStep: {
    reply: { text: "The order shipped yesterday.", usage: { input: 420, output: 9, cacheRead: 256 } },
  },
});
process.stdout.write(`${provider.baseUrl}\n`);
process.on("SIGTERM", () => {
  void provider.close().then(() => process.exit(0));
});
