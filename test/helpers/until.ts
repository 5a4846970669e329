import assert from 'node:assert/strict';

/**
 * Waits (polling every 10 ms, up to `timeoutMs`, default 15 s) until `done()`; fails naming
 * `what` otherwise. A bound on waiting, not a timing assertion.
 */
export async function until(done: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
