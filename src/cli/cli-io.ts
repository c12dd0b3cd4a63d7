/** Where a command writes; tests pass their own to capture output. */
export type CliIo = {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** True when stdout is a terminal (colour and progress are allowed). */
  isTty: boolean;
  /** Text as it is, without a newline added (streamed model text); `out` when absent. */
  write?: (text: string) => void;
  /** What the person types (`keel chat`); the process's stdin when absent. */
  stdin?: NodeJS.ReadableStream;
};

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    isTty: Boolean(process.stdout.isTTY),
    write: (text) => process.stdout.write(text),
    stdin: process.stdin,
  };
}
