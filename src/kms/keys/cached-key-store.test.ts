import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { KeyNotFoundError, KeyStoreConflictError, type KeyStore } from '../key-store.js';
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
function setup(inner: KeyStore = new SqliteKeyStore(openSqlite(':memory:'))): { inner: KeyStore; cached: CachedKeyStore; reads: () => number } {
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
  return { inner, cached: new CachedKeyStore(inner), reads: () => reads };
}

/** Two connections to one database file: the cached store's, and another process's stand-in. */
function twoConnections(): { mine: SqliteKeyStore; other: SqliteKeyStore; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cached-key-store-'));
  const a = openSqlite(join(dir, 'metadata.db'));
  const b = openSqlite(join(dir, 'metadata.db'));
  return {
    mine: new SqliteKeyStore(a),
    other: new SqliteKeyStore(b),
    close() {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('CachedKeyStore', () => {
  it('serves a repeated read from memory', async () => {
    const { cached, reads } = setup();
    await cached.createKey(record());
    assert.equal((await cached.getKey(KEY_ID)).description, 'first');
    assert.equal((await cached.getKey(KEY_ID)).description, 'first');
    assert.equal(cached.cachedKey(KEY_ID)?.description, 'first');
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

  it('sees a write made through another connection (another process) on the next read, with no time passing', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const db = twoConnections();
    try {
      const { cached } = setup(db.mine);
      await cached.createKey(record());
      await cached.createAlias({ aliasName: 'alias/a', targetKeyId: KEY_ID, createdAt: new Date(0), lastUpdatedAt: new Date(0) });
      assert.equal((await cached.getKey(KEY_ID)).keyState, 'Enabled');
      assert.equal((await cached.getAlias('alias/a'))?.targetKeyId, KEY_ID);
      await db.other.updateKey(record({ keyState: 'Disabled', revision: 2 }));
      assert.equal((await cached.getKey(KEY_ID)).keyState, 'Disabled');
      assert.equal(cached.cachedKey(KEY_ID)?.keyState, 'Disabled');
      await db.other.updateAlias({ aliasName: 'alias/a', targetKeyId: 'moved', createdAt: new Date(0), lastUpdatedAt: new Date(0) });
      assert.equal((await cached.getAlias('alias/a'))?.targetKeyId, 'moved');
      await db.other.deleteKey(KEY_ID);
      assert.equal(cached.cachedKey(KEY_ID), undefined);
      await assert.rejects(cached.getKey(KEY_ID), KeyNotFoundError);
      await db.other.deleteAlias('alias/a');
      assert.equal(await cached.getAlias('alias/a'), undefined);
    } finally {
      db.close();
    }
  });

  it('never keeps a record under a change count read after it (a write landing between the two reads)', async () => {
    const db = twoConnections();
    try {
      const { cached } = setup(db.mine);
      await cached.createKey(record());
      // The read returns the record as it was, and another process commits right after it.
      const getKey = db.mine.getKey.bind(db.mine);
      let raced = false;
      db.mine.getKey = async (id) => {
        const read = await getKey(id);
        if (!raced) {
          raced = true;
          await db.other.updateKey(record({ keyState: 'Disabled', revision: 2 }));
        }
        return read;
      };
      assert.equal((await cached.getKey(KEY_ID)).keyState, 'Enabled');
      assert.equal((await cached.getKey(KEY_ID)).keyState, 'Disabled');
    } finally {
      db.close();
    }
  });

  it('reads the change count once per synchronous run, and again in the next', async () => {
    const { inner, cached } = setup();
    await cached.createKey(record());
    await cached.getKey(KEY_ID);
    let counted = 0;
    const changeCount = (inner as SqliteKeyStore).changeCount.bind(inner);
    (inner as SqliteKeyStore).changeCount = () => {
      counted++;
      return changeCount();
    };
    const again = new CachedKeyStore(inner);
    await again.getKey(KEY_ID);
    counted = 0;
    again.cachedKey(KEY_ID);
    again.cachedKey(KEY_ID);
    again.cachedKey(KEY_ID);
    assert.equal(counted, 1);
    await Promise.resolve();
    again.cachedKey(KEY_ID);
    assert.equal(counted, 2);
  });

  it('caches nothing in front of a store without a change count', async () => {
    const sqlite = new SqliteKeyStore(openSqlite(':memory:'));
    const bare: KeyStore = {
      createKey: (k) => sqlite.createKey(k),
      getKey: (id) => sqlite.getKey(id),
      updateKey: (k) => sqlite.updateKey(k),
      deleteKey: (id) => sqlite.deleteKey(id),
      listKeys: (l, m) => sqlite.listKeys(l, m),
      createAlias: (a) => sqlite.createAlias(a),
      getAlias: (n) => sqlite.getAlias(n),
      updateAlias: (a) => sqlite.updateAlias(a),
      deleteAlias: (n) => sqlite.deleteAlias(n),
      listAliases: (l, m, k) => sqlite.listAliases(l, m, k),
      createGrant: (g) => sqlite.createGrant(g),
      getGrant: (k, g) => sqlite.getGrant(k, g),
      findGrantByTokenHash: (h) => sqlite.findGrantByTokenHash(h),
      deleteGrant: (k, g) => sqlite.deleteGrant(k, g),
      listGrants: (l, m, f) => sqlite.listGrants(l, m, f),
      status: () => sqlite.status(),
      close: () => sqlite.close(),
    };
    const { cached, reads } = setup(bare);
    await cached.createKey(record());
    await cached.getKey(KEY_ID);
    await cached.getKey(KEY_ID);
    assert.equal(cached.cachedKey(KEY_ID), undefined);
    assert.equal(reads(), 2);
  });

  it('drops a stale record when an update loses the revision race', async () => {
    const { inner, cached } = setup();
    await cached.createKey(record());
    const stale = await cached.getKey(KEY_ID);
    await inner.updateKey(record({ description: 'elsewhere', revision: 2 }));
    await assert.rejects(cached.updateKey({ ...stale, description: 'mine', revision: stale.revision + 1 }), KeyStoreConflictError);
    assert.equal((await cached.getKey(KEY_ID)).description, 'elsewhere');
  });

  it('does not cache a miss', async () => {
    const { inner, cached, reads } = setup();
    await assert.rejects(cached.getKey(KEY_ID), KeyNotFoundError);
    await inner.createKey(record());
    assert.equal((await cached.getKey(KEY_ID)).keyId, KEY_ID);
    await cached.getKey(KEY_ID);
    assert.equal(reads(), 2);
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

