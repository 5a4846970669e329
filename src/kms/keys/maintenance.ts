import { NotFoundError } from '../errors.js';
import type { KeyService } from './key-service.js';

const PAGE = 100;

/**
 * One sweep over every key: resolving a key carries out what time has made due (KeyService
 * does it), so keys past their deletion date are destroyed and keys past their rotation date
 * get new material even if nobody uses them. Returns how many keys were destroyed. Errors on
 * one key are passed to `onError` and do not stop the sweep; never throws for a key.
 */
export async function runKeyMaintenance(keys: KeyService, onError: (err: unknown, keyId: string) => void = () => {}): Promise<number> {
  let destroyed = 0;
  let marker: string | undefined;
  do {
    const page = await keys.deps.store.listKeys(PAGE, marker);
    for (const key of page.items) {
      try {
        await keys.resolve(key.keyId);
      } catch (err) {
        if (err instanceof NotFoundError) destroyed++;
        else onError(err, key.keyId);
      }
    }
    marker = page.nextMarker;
  } while (marker !== undefined);
  return destroyed;
}

/**
 * Runs `runKeyMaintenance` every `intervalMs` (the timer does not keep the process alive;
 * sweeps never overlap). Returns a stop function that cancels the timer and resolves once
 * any sweep in progress has finished, so the store can be closed after it.
 */
export function startKeyMaintenance(keys: KeyService, intervalMs: number, onError?: (err: unknown, keyId: string) => void): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running !== undefined) return;
    running = runKeyMaintenance(keys, onError)
      .catch((err: unknown) => onError?.(err, '*'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
