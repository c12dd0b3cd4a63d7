import assert from "node:assert/strict";
import { test } from "node:test";
import { supportTriage } from "../../examples/support-triage/index.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { openStore } from "../store/open-store.ts";
import { loadAgentPackages } from "./create-keel.ts";
import { startProductionSampling } from "./eval-sampling.ts";

test("keel serve samples the agents whose spec sets evals.productionSampling, and only those", async () => {
  const store = await openStore({});
  try {
    const { agents } = await loadAgentPackages({ store, packages: [supportTriage], env: {} });
    const sampler = await startProductionSampling({
      store,
      packages: [supportTriage],
      agents,
      log: () => undefined,
      pollMs: 60_000,
    });
    assert.ok(sampler, "support-triage samples 5% of its runs");
    assert.equal(await sampler.tick(), 0, "no run has finished yet");
    await sampler.stop();
    const none = await startProductionSampling({
      store,
      packages: [supportTriage],
      agents: createAgentCatalog([]),
      log: () => undefined,
    });
    assert.equal(none, null);
  } finally {
    await store.close();
  }
});
