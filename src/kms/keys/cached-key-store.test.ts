import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { KeyNotFoundError, KeyStoreConflictError } from '../key-store.js';
import { CachedKeyStore } from './cached-key-store.js';
import type { KeyRecord } from './key-record.js';

const KEY_ID = '11111111-2222-4333-8444-555555555555';

function record(change: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: KEY_ID,
    accountId: '000000000000',
    region: 'us-east-1',
    createdAt: new Date(0),
    description: 'first',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    keyState: 'Enabled',
    keyManager: 'CUSTOMER',
    policy: '{}',
    tags: [],
    rotation: { enabled: false, periodDays: 365 },
    versions: [{ version: 1, createdAt: new Date(0), wrappedMaterial: Buffer.from('wrapped') }],
    revision: 1,
    ...change,
  };
}

/** A SQLite store that counts reads, standing for "the database" and "another process". */
function setup(ttlMs?: number): { inner: SqliteKeyStore; cached: CachedKeyStore; reads: () => number } {
  const inner = new SqliteKeyStore(openSqlite(':memory:'));
  let reads = 0;
  const getKey = inner.getKey.bind(inner);
  const getAlias = inner.getAlias.bind(inner);
  inner.getKey = (id) => {
    reads++;
    return getKey(id);
  };
  inner.getAlias = (name) => {
    reads++;
    return getAlias(name);
  };
  return { inner, cached: new CachedKeyStore(inner, ttlMs), reads: () => reads };
}

describe('CachedKeyStore', () => {
  it('serves a repeated read from memory', async () => {
    const { cached, reads } = setup();
    await cached.createKey(record());
    assert.equal((await cached.getKey(KEY_ID)).description, 'first');
    assert.equal((await cached.getKey(KEY_ID)).description, 'first');
    assert.equal(reads(), 1);
  });

  it('sees its own update and deletion at once', async () => {
    const { cached } = setup();
    await cached.createKey(record());
    await cached.getKey(KEY_ID);
    await cached.updateKey(record({ description: 'second', revision: 2 }));
    assert.equal((await cached.getKey(KEY_ID)).description, 'second');
    await cached.deleteKey(KEY_ID);
    await assert.rejects(cached.getKey(KEY_ID), KeyNotFoundError);
  });

  it('sees a write made behind it (another process) once the TTL has passed, never later', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const { inner, cached } = setup(1000);
    await cached.createKey(record());
    await cached.getKey(KEY_ID);
    await inner.updateKey(record({ keyState: 'Disabled', revision: 2 }));
    assert.equal((await cached.getKey(KEY_ID)).keyState, 'Enabled', 'within the TTL the cached record stands');
    t.mock.timers.tick(1000);
    assert.equal((await cached.getKey(KEY_ID)).keyState, 'Disabled');
  });

  it('clamps the TTL to one second', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const { inner, cached } = setup(60_000);
    await cached.createKey(record());
    await cached.getKey(KEY_ID);
    await inner.updateKey(record({ description: 'elsewhere', revision: 2 }));
    t.mock.timers.tick(1000);
    assert.equal((await cached.getKey(KEY_ID)).description, 'elsewhere');
  });

  it('drops a stale record when an update loses the revision race', async () => {
    const { inner, cached } = setup();
    await cached.createKey(record());
    await cached.getKey(KEY_ID);
    await inner.updateKey(record({ description: 'elsewhere', revision: 2 }));
    const stale = await cached.getKey(KEY_ID);
    await assert.rejects(cached.updateKey({ ...stale, description: 'mine', revision: stale.revision + 1 }), KeyStoreConflictError);
    assert.equal((await cached.getKey(KEY_ID)).description, 'elsewhere');
  });

  it('does not cache a miss, and caches nothing with a TTL of 0', async () => {
    const { inner, cached, reads } = setup(0);
    await assert.rejects(cached.getKey(KEY_ID), KeyNotFoundError);
    await inner.createKey(record());
    assert.equal((await cached.getKey(KEY_ID)).keyId, KEY_ID);
    await cached.getKey(KEY_ID);
    assert.equal(reads(), 3);
  });

  it('caches aliases and forgets them on alias writes and key deletion', async () => {
    const { cached } = setup();
    const now = new Date(0);
    await cached.createKey(record());
    assert.equal(await cached.getAlias('alias/a'), undefined);
    await cached.createAlias({ aliasName: 'alias/a', targetKeyId: KEY_ID, createdAt: now, lastUpdatedAt: now });
    assert.equal((await cached.getAlias('alias/a'))?.targetKeyId, KEY_ID);
    await cached.updateAlias({ aliasName: 'alias/a', targetKeyId: 'other', createdAt: now, lastUpdatedAt: now });
    assert.equal((await cached.getAlias('alias/a'))?.targetKeyId, 'other');
    await cached.updateAlias({ aliasName: 'alias/a', targetKeyId: KEY_ID, createdAt: now, lastUpdatedAt: now });
    await cached.getAlias('alias/a');
    await cached.deleteKey(KEY_ID);
    assert.equal(await cached.getAlias('alias/a'), undefined);
  });
});

