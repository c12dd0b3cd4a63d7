/** The agent name drift alarms are journaled under: each alarm is one run of it, ended with the alarm. */
export const DRIFT_MONITOR_AGENT = "keel.drift-monitor";

/** The drift alarm a monitor run's answer carries, or null when the answer is not one. */
export function readDriftAlarm(
  answer: string | undefined,
): { agent: string; dimensions: { dimension: string; psi: number }[] } | null {
  if (!answer) return null;
  try {
    const parsed = JSON.parse(answer) as { kind?: unknown; agent?: unknown; dimensions?: unknown };
    if (
      parsed.kind !== "drift-alarm" ||
      typeof parsed.agent !== "string" ||
      !Array.isArray(parsed.dimensions)
    )
      return null;
    return { agent: parsed.agent, dimensions: parsed.dimensions as { dimension: string; psi: number }[] };
  } catch {
    return null;
  }
}
