// Shared fixtures for the IAM operation tests. Not exported from index.ts.
import { setImmediate as turn } from 'node:timers/promises';
import { systemClock } from '../../common/clock.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteIdentityStore } from '../../store/sqlite/identity-store.js';
import type { IamDeps } from '../iam-context.js';
import type { IdentityStore } from '../identity-store.js';

/**
 * The store with every call answered a turn of the event loop later, as a store behind I/O
 * would: whatever an operation reads and then writes in two calls, other requests can change
 * in between.
 */
export function slowStore(inner: IdentityStore): IdentityStore {
  return new Proxy(inner, {
    get(target, name, receiver): unknown {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        await turn();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A sealer for tests that never seal: each call rejects. */
export const UNUSED_SEALER: IamDeps['sealer'] = {
  wrap: () => Promise.reject(new Error('not used')),
  unwrap: () => Promise.reject(new Error('not used')),
};

/** Deps over a fresh in-memory SQLite store, made slow (slowStore) unless `slow` is false; account 000000000000. */
export function sqliteDeps(slow = true): IamDeps {
  const store = new SqliteIdentityStore(openSqlite(':memory:'));
  return { store: slow ? slowStore(store) : store, sealer: UNUSED_SEALER, clock: systemClock, accountId: '000000000000' };
}
