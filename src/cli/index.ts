// cli/: the keel command (serve, worker, run, eval, init, audit, keys and the rest), a composition root
// that nothing imports but the bin script.
export { type CliIo, processIo } from "./cli-io.ts";
export { main, usageText } from "./main.ts";
