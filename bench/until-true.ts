/**
 * Wait for an in-process condition by checking it every millisecond. Used only outside timed spans, or where
 * a millisecond of slack is small against what is measured, and never touches the database.
 */
export async function untilTrue(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
