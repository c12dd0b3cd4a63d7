import { readFileSync } from "node:fs";

/** The version of the `keel` package running (its package.json is two levels up from src/ and from dist/). */
export const KEEL_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
