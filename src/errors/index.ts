// errors/: KeelError, the one error type of Keel, and its code table (code → category → HTTP status).
// Every module may use it; nothing else is shared by all.
export { ERROR_CODES, type ErrorCode, type FieldIssue, isKeelError, KeelError } from "./keel-error.ts";
