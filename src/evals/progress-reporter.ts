import type { EvalProgress } from "./run-eval.ts";

/**
 * Progress for a terminal (a bar redrawn in place) or for CI and pipes (a plain line every `every` cases and
 * at the end), so logs stay readable where nobody watches them live.
 */
export function progressReporter(options: {
  write: (text: string) => void;
  interactive: boolean;
  label: string;
  every?: number;
}): (progress: EvalProgress) => void {
  const every = options.every ?? 25;
  return ({ done, total, passed }) => {
    if (options.interactive) {
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      options.write(
        `\r${options.label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total}  ${passed} passed${done === total ? "\n" : ""}`,
      );
    } else if (done % every === 0 || done === total) {
      options.write(`${options.label}: ${done}/${total} cases, ${passed} passed\n`);
    }
  };
}
