/**
 * Preloaded into every test process by scripts/run-tests.ts (`--import`): new PGlite stores start from the run's
 * migrated template (KEEL_PGLITE_TEMPLATE) instead of each running initdb.
 */
import { usePgliteTemplate } from "../../src/store/open-store.ts";

usePgliteTemplate(process.env.KEEL_PGLITE_TEMPLATE);
