/**
 * Preloaded into every test process by scripts/run-tests.ts (`--import`), which also sets KEEL_CHECK_EVENTS=1 for the
 * `keel` processes tests start: the store parses every event the interpreter writes against its schema, which
 * production takes as given (src/store/validate-new-events.ts).
 */
import { checkTypedEvents } from "../../src/store/validate-new-events.ts";

checkTypedEvents(process.env.KEEL_CHECK_EVENTS === "1");
