import { access } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { KeelError } from "../errors/index.ts";
import type { EvalTarget, Grader } from "../evals/index.ts";
import {
  agentEvalTarget,
  createRecordReplayModelProvider,
  type EvalsSection,
  loadGraderModule,
  parseEvalsSection,
  type RecordingMode,
  type RecordReplayModelProvider,
} from "../evals/index.ts";
import type { ModelProvider } from "../models/index.ts";
import { routedModelProvider } from "../models/index.ts";
import type { AgentPackage } from "../runtime/index.ts";
import {
  type ChooseModelOverride,
  createEnvModelGateway,
  createKeel,
  missingKey,
  modelPolicyOf,
} from "../server/index.ts";
import type { LoadedAgentSpec, LoadedWorkflowSpec } from "../spec/index.ts";
import { loadAgentSpec, loadWorkflowSpec, ModelSection, readSpecKind } from "../spec/index.ts";
import { openStore } from "../store/index.ts";
import { importAgentPackages } from "./agent-packages.ts";

/** Everything `keel eval` runs cases with: a scratch store, the agent bound to its model, a worker, judges' model. */
export type EvalHarness = {
  /** The folder of the agent's (or workflow's) spec, which the `evals` section's paths are relative to. */
  dir: string;
  evals: EvalsSection;
  target: EvalTarget;
  /** The model LLM judges call (recorded/replayed like the agent's), or null when none is available. */
  judgeModel: ModelProvider | null;
  recorders: RecordReplayModelProvider[];
  /** The team's custom graders from the spec's `evals.graders` module, by name. */
  custom: ReadonlyMap<string, Grader>;
  close(): Promise<void>;
};

/** `off` leaves the model as chosen; the other modes wrap it (see RecordingMode). */
export type HarnessRecording = RecordingMode | "off";

/** The package `keel eval` was asked about, loaded: an agent's spec or a workflow's. */
type Found =
  | { kind: "agent"; agentPackage: AgentPackage; loaded: LoadedAgentSpec }
  | { kind: "workflow"; agentPackage: AgentPackage; loaded: LoadedWorkflowSpec };

/**
 * Compose an eval harness for one agent or workflow: its package loaded against an in-memory PGlite (evals never
 * touch a real store's runs), its governor and policies, a worker at the given concurrency, and its model wrapped
 * for record-and-replay when the spec names a recordings file. In replay mode with a recording the agent's model
 * is the recording alone, so CI needs no key and pays nothing. A workflow is served with every other package of
 * the same module, because its runs start runs of other agents (a handoff to an agent), which the eval's worker
 * must serve too; only the workflow's own model is replaced or recorded.
 */
export async function openEvalHarness(options: {
  packagesModule: string;
  agent: string;
  env: Readonly<Record<string, string | undefined>>;
  concurrency: number;
  recording: HarnessRecording;
  recordingsFile?: string;
  /** Replace the agent's model (an adversarial eval's hijacked model, a test double); recording still applies. */
  model?: (chosen: ModelProvider) => { provider: ModelProvider; label: string };
}): Promise<EvalHarness> {
  const packages = await importAgentPackages(options.packagesModule);
  let found: Found | null = null;
  for (const agentPackage of packages) {
    if ((await readSpecKind(agentPackage.specFile)) === "Workflow") {
      const loaded = await loadWorkflowSpec(agentPackage.specFile);
      if (loaded.definition.name === options.agent) found = { kind: "workflow", agentPackage, loaded };
      continue;
    }
    const loaded = await loadAgentSpec(agentPackage.specFile);
    if (loaded.spec.name === options.agent) found = { kind: "agent", agentPackage, loaded };
  }
  if (!found) throw new KeelError("not_found", `no agent or workflow package provides "${options.agent}"`);
  const { loaded } = found;
  const evals = parseEvalsSection(
    found.kind === "agent" ? found.loaded.spec.evals : found.loaded.definition.evals,
  );
  const custom: ReadonlyMap<string, Grader> = evals.graders
    ? await loadGraderModule(resolve(loaded.dir, evals.graders))
    : new Map();
  const served = found.kind === "agent" ? [found.agentPackage] : packages;
  const store = await openStore({});
  const recorders: RecordReplayModelProvider[] = [];
  const recordingsFile =
    options.recordingsFile ?? (evals.recordings ? resolve(loaded.dir, evals.recordings) : undefined);
  const recordingExists = recordingsFile ? await exists(recordingsFile) : false;
  // The agent's model as chosen, then replaced (a hijacked model, a test double), then wrapped for recording.
  const recordModel: ChooseModelOverride = async (agent, chosen, { current }) => {
    // The other agents a workflow's runs start keep the models chosen for them; so do the other versions a package
    // serves beside the one evaluated (its own spec), whose recorders would otherwise share its recordings file.
    if (agent !== options.agent || !current) return chosen;
    let { provider, label } = options.model ? options.model(chosen.provider) : chosen;
    if (recordingsFile && options.recording !== "off") {
      if (options.recording === "replay" && recordingExists) {
        const recorder = await createRecordReplayModelProvider({
          inner: null,
          file: recordingsFile,
          mode: "replay",
        });
        recorders.push(recorder);
        provider = recorder;
        label = `replay of recorded turns (${recordingsFile}) — offline, no model is called`;
      } else if (options.recording !== "replay" && !provider.offline) {
        const recorder = await createRecordReplayModelProvider({
          inner: provider,
          file: recordingsFile,
          mode: options.recording,
        });
        recorders.push(recorder);
        provider = recorder;
        label = `${label}, ${options.recording === "record" ? "recording" : "replaying or recording"} to ${recordingsFile}`;
      }
    }
    return { provider, label };
  };
  try {
    // Keel without its API or timers: the agent, its governor and policies, and a worker on the scratch store.
    const keel = await createKeel({
      store,
      agents: served,
      env: options.env,
      log: () => undefined,
      api: false,
      timers: false,
      worker: {
        owner: "keel-eval",
        // Every case's run tree gets its slots: a workflow waiting on its branches' child runs, with too few slots,
        // would wait behind them (and behind other cases' children) and miss its branches' deadlines for want of
        // a slot, which the gate would count against the workflow.
        concurrency:
          options.concurrency * (found.kind === "workflow" ? runsAtOncePerCase(found.loaded.definition) : 1),
        leaseTtlMs: 30_000,
      },
      model: recordModel,
    });
    const agent = keel.agents.current(options.agent)!;
    const judgeModel = await judgeModelOf({
      name: options.agent,
      model: found.kind === "agent" ? found.loaded.spec.model : found.loaded.definition.model,
      evals,
      env: options.env,
      recording: options.recording,
      recordingsFile,
      recordingExists,
      agentProvider: agent.provider,
      recorders,
    });
    return {
      dir: loaded.dir,
      evals,
      target: agentEvalTarget({
        store,
        agent,
        worker: keel.worker,
        model: keel.modelLabels.get(options.agent) ?? agent.provider.model,
      }),
      judgeModel,
      recorders,
      custom,
      async close() {
        await keel.close();
        await Promise.all(recorders.map((recorder) => recorder.save()));
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The judges' model: `evals.judgeModel` through the gateway when its key is set, wrapped like the agent's. */
async function judgeModelOf(options: {
  name: string;
  /** The agent's (or workflow's) model section, which the judge's inherits its settings from; a workflow may have none. */
  model: Omit<LoadedAgentSpec["spec"]["model"], "offline"> | undefined;
  evals: EvalsSection;
  env: Readonly<Record<string, string | undefined>>;
  recording: HarnessRecording;
  recordingsFile: string | undefined;
  recordingExists: boolean;
  agentProvider: ModelProvider;
  recorders: RecordReplayModelProvider[];
}): Promise<ModelProvider | null> {
  const { evals, recordingsFile } = options;
  if (!evals.judgeModel)
    return options.agentProvider.offline && !options.recordingExists ? null : options.agentProvider;
  const base =
    options.model ??
    ModelSection.omit({ offline: true }).parse({
      provider: evals.judgeModel.provider,
      id: evals.judgeModel.id,
    });
  const policy = modelPolicyOf({
    model: {
      ...base,
      provider: evals.judgeModel.provider,
      id: evals.judgeModel.id,
      fallbacks: [],
      routing: [],
    },
  });
  const judgeFile = recordingsFile ? resolve(dirname(recordingsFile), "judge-recordings.json") : undefined;
  if (options.recording === "replay" && judgeFile && (await exists(judgeFile))) {
    const recorder = await createRecordReplayModelProvider({ inner: null, file: judgeFile, mode: "replay" });
    options.recorders.push(recorder);
    return recorder;
  }
  // Without the judge model's key there is no judge: its grades are reported as unavailable, never as failures.
  if (missingKey(policy.primary, options.env) !== null) return null;
  let live: ModelProvider;
  try {
    live = routedModelProvider({
      gateway: createEnvModelGateway({ env: options.env }),
      policy: { ...policy, rules: [], fallbacks: [] },
      agent: `${options.name}:judge`,
    });
  } catch {
    return null;
  }
  // Replay never calls a model: without a judge recording there is no judge, rather than a live call from CI.
  if (options.recording === "replay") return null;
  if (!judgeFile || options.recording === "off") return live;
  const recorder = await createRecordReplayModelProvider({
    inner: live,
    file: judgeFile,
    mode: options.recording,
  });
  options.recorders.push(recorder);
  return recorder;
}

async function exists(file: string): Promise<boolean> {
  return await access(file).then(
    () => true,
    () => false,
  );
}

/** A map node's branches running at once when it declares no concurrency, for sizing the eval's worker. */
const MAP_BRANCHES_ASSUMED = 8;

/**
 * The most runs one case of a workflow has going at once: the workflow's run, and the child runs of its widest
 * fan-out (a `parallel` node's branches, or a `map` node's, as many as its concurrency lets run together).
 */
export function runsAtOncePerCase(definition: LoadedWorkflowSpec["definition"]): number {
  let widest = 1;
  for (const node of Object.values(definition.nodes)) {
    if (node.kind === "parallel") widest = Math.max(widest, node.concurrency ?? node.branches.length);
    else if (node.kind === "map") widest = Math.max(widest, node.concurrency ?? MAP_BRANCHES_ASSUMED);
  }
  return 1 + widest;
}
