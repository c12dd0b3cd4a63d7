import { resolve } from "node:path";
import type { Grader } from "../evals/index.ts";
import {
  buildGraders,
  createProductionSampler,
  EvalCase,
  judgeGrader,
  loadGraderModule,
  type ProductionSampler,
  parseEvalsSection,
  type SamplingPlan,
  sqlEvaluationLog,
} from "../evals/index.ts";
import type { AgentCatalog, AgentPackage } from "../runtime/index.ts";
import { loadAgentSpec, readSpecKind } from "../spec/index.ts";
import type { Store } from "../store/index.ts";

/**
 * Production sampling for `keel serve`: for each served agent whose spec sets `evals.productionSampling`, grade
 * that share of its finished runs with the spec's `evals.production` expectations (judges call the agent's own
 * model unless it is an offline stand-in) and record each score as an `evaluation` event. Null when no agent
 * samples.
 */
export async function startProductionSampling(options: {
  store: Store;
  packages: readonly AgentPackage[];
  agents: AgentCatalog;
  log: (message: string) => void;
  pollMs?: number;
}): Promise<ProductionSampler | null> {
  const plans = new Map<string, SamplingPlan>();
  for (const agentPackage of options.packages) {
    // Production sampling grades agents' answers; workflows are not sampled.
    if ((await readSpecKind(agentPackage.specFile)) === "Workflow") continue;
    const loaded = await loadAgentSpec(agentPackage.specFile);
    const evals = parseEvalsSection(loaded.spec.evals);
    const definition = options.agents.lookup(loaded.spec.name, loaded.spec.version);
    if (evals.productionSampling <= 0 || !definition) continue;
    const judges = new Map<string, Grader>();
    if (!definition.provider.offline) {
      for (const [name, rubric] of Object.entries(evals.judges))
        judges.set(
          name,
          judgeGrader({
            name,
            rubric,
            model: definition.provider,
            advisory: rubric.calibration === undefined,
          }),
        );
    }
    const custom = evals.graders
      ? await loadGraderModule(resolve(loaded.dir, evals.graders))
      : new Map<string, Grader>();
    const production = {
      ...evals.production,
      judge: (evals.production.judge ?? []).filter((name) => judges.has(name)),
    };
    const graders = buildGraders(EvalCase.parse({ id: "production", input: "-", expect: production }), {
      judges,
      custom,
    });
    plans.set(`${loaded.spec.name}@${loaded.spec.version}`, { rate: evals.productionSampling, graders });
  }
  if (plans.size === 0) return null;
  const sampler = createProductionSampler({
    store: options.store,
    log: sqlEvaluationLog(options.store.sql),
    plan: (agent, version) => plans.get(`${agent}@${version}`) ?? null,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    onError: (error) =>
      options.log(`production sampling: ${error instanceof Error ? error.message : String(error)}`),
  });
  sampler.start();
  return sampler;
}
