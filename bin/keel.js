#!/usr/bin/env node
import { processIo } from "../src/cli/cli-io.ts";
// The `keel` executable: Node 24 runs the TypeScript sources directly.
import { main } from "../src/cli/main.ts";

process.exitCode = await main(process.argv.slice(2), processIo());
