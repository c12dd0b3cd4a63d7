/** Every error code Keel reports, who is at fault, and how it maps to HTTP. One table for the whole system. */
export const ERROR_CODES = {
  invalid_request: { category: "user", status: 400 },
  invalid_spec: { category: "user", status: 400 },
  unauthorized: { category: "user", status: 401 },
  forbidden: { category: "user", status: 403 },
  not_found: { category: "user", status: 404 },
  request_timeout: { category: "user", status: 408 },
  conflict: { category: "user", status: 409 },
  cancelled: { category: "user", status: 409 },
  payload_too_large: { category: "user", status: 413 },
  unsupported_media_type: { category: "user", status: 415 },
  rate_limited: { category: "user", status: 429 },
  stale_lease: { category: "system", status: 409 },
  tool_failed: { category: "upstream", status: 502 },
  tool_timeout: { category: "upstream", status: 504 },
  sandbox_unavailable: { category: "system", status: 503 },
  invalid_tool_arguments: { category: "user", status: 400 },
  model_failed: { category: "upstream", status: 502 },
  model_rate_limited: { category: "upstream", status: 429 },
  model_unavailable: { category: "upstream", status: 503 },
  model_timeout: { category: "upstream", status: 504 },
  model_misconfigured: { category: "user", status: 400 },
  context_too_long: { category: "user", status: 400 },
  content_refused: { category: "upstream", status: 422 },
  budget_exceeded: { category: "user", status: 429 },
  max_steps_exceeded: { category: "user", status: 422 },
  output_schema_mismatch: { category: "upstream", status: 422 },
  run_timeout: { category: "upstream", status: 504 },
  interrupted: { category: "system", status: 500 },
  unavailable: { category: "system", status: 503 },
  internal: { category: "system", status: 500 },
} as const satisfies Record<string, { category: "user" | "upstream" | "system"; status: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A field that failed validation: a dotted path and, for spec files, where it is. */
export type FieldIssue = { path: string; message: string; file?: string; line?: number; column?: number };

/** The one error type: a code from the table, a message safe to show, and optional field issues. */
export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly issues: readonly FieldIssue[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: readonly FieldIssue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KeelError";
    this.code = code;
    this.issues = options.issues ?? [];
  }

  get category(): "user" | "upstream" | "system" {
    return ERROR_CODES[this.code].category;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** The JSON form returned by the API: no stack, no cause. */
  toJSON(): { error: { code: ErrorCode; message: string; issues?: FieldIssue[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues.length > 0 ? { issues: [...this.issues] } : {}),
      },
    };
  }
}

/** True when a value is a KeelError with the given code. */
export function isKeelError(error: unknown, code?: ErrorCode): error is KeelError {
  return error instanceof KeelError && (code === undefined || error.code === code);
}
