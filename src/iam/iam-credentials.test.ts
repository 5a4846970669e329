import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../common/clock.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import type { SecretSealer } from './iam-context.js';
import { IamCredentialLookup } from './iam-credentials.js';
import type { EntityTag, IdentityStore, UserRecord } from './identity-store.js';

const ACCOUNT = '111122223333';
const KEY = 'AKIAEXAMPLERACE00001';

/**
 * TagUser lands while a request's prepare() is reading the user: the tags it read are stale,
 * and caching them would hold the old aws:PrincipalTag for the cache's 5 s on this very node.
 */
test('a credential whose user changed (invalidate) while it was being loaded is loaded again, not cached stale', async () => {
  let tags: readonly EntityTag[] = [];
  let pause: Promise<void> | undefined;
  const user = (): UserRecord => ({ userName: 'u', userId: 'AIDAU', arn: `arn:aws:iam::${ACCOUNT}:user/u`, path: '/', createdAt: new Date(0), tags });
  const store = {
    getAccessKey: async () => ({ accessKeyId: KEY, userName: 'u', status: 'Active', createdAt: new Date(0), sealedSecret: Buffer.from('s') }),
    getUser: async () => {
      const read = user();
      if (pause !== undefined) await pause;
      return read;
    },
  } as unknown as IdentityStore;
  const sealer: SecretSealer = { wrap: async () => Buffer.alloc(0), unwrap: async () => SecretBytes.copyOf(Buffer.from('secret')) };
  const lookup = new IamCredentialLookup({ find: () => undefined }, { store, sealer, clock: new ManualClock(), accountId: ACCOUNT });

  let release!: () => void;
  pause = new Promise((r) => (release = r));
  const loading = lookup.prepare(KEY);
  await new Promise((r) => setImmediate(r));
  // The tag change (through this process) while the first read is in flight.
  tags = [{ key: 'blocked', value: 'true' }];
  lookup.invalidate();
  pause = undefined;
  release();
  await loading;
  assert.deepEqual({ ...lookup.find(KEY)?.principal.tags }, { blocked: 'true' });
});
