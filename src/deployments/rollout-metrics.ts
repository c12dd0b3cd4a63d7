import { Counter, Gauge, type Registry as MetricsRegistry } from "prom-client";

/** The rollout's numbers on the one metrics registry: rollbacks counted, and each open deployment's split. */
export type RolloutMetrics = {
  rolledBack(labels: { agent: string; strategy: string; trigger: "automatic" | "manual" }): void;
  candidatePercent(labels: { agent: string; candidate: string }, percent: number): void;
};

/** Register the rollout metrics (`keel_rollout_rollbacks_total`, `keel_rollout_candidate_percent`). */
export function registerRolloutMetrics(registry: MetricsRegistry): RolloutMetrics {
  const rollbacks = new Counter({
    name: "keel_rollout_rollbacks_total",
    help: "Deployments rolled back to their stable version: automatically on a breached gate, or by a person.",
    labelNames: ["agent", "strategy", "trigger"],
    registers: [registry],
  });
  const percent = new Gauge({
    name: "keel_rollout_candidate_percent",
    help: "Share of new runs the candidate version of an agent takes, 0 to 100 (0 once its deployment is over, 100 once promoted).",
    labelNames: ["agent", "candidate"],
    registers: [registry],
  });
  return {
    rolledBack: (labels) => rollbacks.inc(labels),
    candidatePercent: (labels, value) => percent.set(labels, value),
  };
}
