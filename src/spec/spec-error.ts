/** One problem in a spec file: where it is (1-based line and column), which field, and what is wrong. */
export type SpecIssue = { file: string; line: number; column: number; path: string; message: string };

/** `file:line:column path: message`, the form editors and terminals turn into a link (path omitted when empty). */
export function formatSpecIssue(issue: SpecIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path === "" ? `${where}: ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

/**
 * Spec files that failed to load, with every issue found (not just the first). Composition roots map it to
 * their own errors (`invalid_spec` for HTTP and the CLI); `spec/` imports nothing else in `src/`.
 */
export class SpecError extends Error {
  readonly issues: readonly SpecIssue[];

  constructor(issues: readonly SpecIssue[]) {
    const count = issues.length === 1 ? "1 issue" : `${issues.length} issues`;
    super(`invalid spec (${count}):\n${issues.map((issue) => `  ${formatSpecIssue(issue)}`).join("\n")}`);
    this.name = "SpecError";
    this.issues = issues;
  }
}
