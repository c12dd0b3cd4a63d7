import { nodeEdges, type WorkflowNode } from "./workflow-definition.ts";

/** A problem found in a workflow, at a field path of the spec; `key` places it at the field's name. */
export type WorkflowIssue = { path: (string | number)[]; message: string; target?: "key" | "value" };

/**
 * The graph rules: every edge names a node; every node is reachable from `start`; and every cycle is bounded.
 * A cycle (a strongly connected set of nodes) is allowed only when (1) a node on it has an edge leaving it, so a
 * decide, branch, approval or wait can end the loop, and (2) `limits.maxSteps` is written in the spec or a node on
 * it declares `maxVisits`, so a run cannot go round it forever.
 */
export function checkWorkflowGraph(options: {
  nodes: Record<string, WorkflowNode>;
  start: string;
  maxStepsDeclared: boolean;
}): WorkflowIssue[] {
  const { nodes, start } = options;
  const issues: WorkflowIssue[] = [];
  const names = Object.keys(nodes);
  const known = new Set(names);
  const successors = new Map<string, string[]>();
  for (const [name, node] of Object.entries(nodes)) {
    const targets: string[] = [];
    for (const edge of nodeEdges(node)) {
      if (known.has(edge.to)) targets.push(edge.to);
      else issues.push({ path: ["nodes", name, ...edge.path], message: unknownNode(edge.to, names) });
    }
    successors.set(name, targets);
  }
  if (!known.has(start)) {
    issues.push({ path: ["start"], message: unknownNode(start, names) });
    return issues;
  }

  const reached = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    for (const next of successors.get(queue.shift()!) ?? []) {
      if (reached.has(next)) continue;
      reached.add(next);
      queue.push(next);
    }
  }
  for (const name of names) {
    if (!reached.has(name)) {
      issues.push({
        path: ["nodes", name],
        target: "key",
        message: `node "${name}" is never reached from start (${start})`,
      });
    }
  }

  for (const cycle of stronglyConnected(names, successors)) {
    const members = new Set(cycle);
    const isCycle = cycle.length > 1 || (successors.get(cycle[0]!) ?? []).includes(cycle[0]!);
    if (!isCycle || !reached.has(cycle[0]!)) continue;
    const ordered = names.filter((name) => members.has(name));
    const listed = ordered.join(", ");
    const canLeave = ordered.some((name) => (successors.get(name) ?? []).some((to) => !members.has(to)));
    const bounded = options.maxStepsDeclared || ordered.some((name) => nodes[name]!.maxVisits !== undefined);
    const at = { path: ["nodes", ordered[0]!], target: "key" as const };
    if (!canLeave) {
      issues.push({
        ...at,
        message: `the cycle through ${listed} has no way out: no decide, branch, approval or wait on it leads elsewhere`,
      });
    } else if (!bounded) {
      issues.push({
        ...at,
        message: `the cycle through ${listed} is unbounded: declare limits.maxSteps, or maxVisits on one of its nodes`,
      });
    }
  }
  return issues;
}

function unknownNode(name: string, names: readonly string[]): string {
  return `no node is named "${name}" (nodes: ${names.join(", ")})`;
}

/** Tarjan's strongly connected components, iteratively (a workflow may be long). */
function stronglyConnected(names: readonly string[], successors: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of names) {
    if (index.has(root)) continue;
    const work: { name: string; next: number }[] = [{ name: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter);
    counter += 1;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const targets = successors.get(frame.name) ?? [];
      if (frame.next < targets.length) {
        const target = targets[frame.next]!;
        frame.next += 1;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter);
          counter += 1;
          stack.push(target);
          onStack.add(target);
          work.push({ name: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.name, Math.min(low.get(frame.name)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.name, Math.min(low.get(parent.name)!, low.get(frame.name)!));
      if (low.get(frame.name) === index.get(frame.name)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.name);
        components.push(component);
      }
    }
  }
  return components;
}
