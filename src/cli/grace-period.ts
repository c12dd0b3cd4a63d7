/** How long a stopping process lets runs finish the step they are in, unless `--grace-period` says otherwise. */
export const DEFAULT_GRACE_MS = 10_000;
