// Shared fixtures for the audit tests. Not exported from index.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { SqliteAuditStore } from '../store/sqlite/audit-store.js';
import { newAuditEvent } from './record.js';
import type { AuditEvent, AuditEventInput } from './record.js';
import { LocalAuditSigner } from './signer.js';
import { AuditTrail } from './trail.js';
import type { AuditTrailOptions } from './trail.js';

export const ACCOUNT = '111122223333';
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;

/** A KMS Encrypt (or given) event by user alice, at second `i` of 2026-01-01. */
export function sampleEvent(i: number, overrides: Partial<AuditEventInput> = {}): AuditEvent {
  return newAuditEvent({
    eventTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    eventSource: 'kms.amazonaws.com',
    eventName: 'Encrypt',
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    userAgent: 'aws-cli/2.15',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAALICE',
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAALICE',
      userName: 'alice',
    },
    requestParameters: { keyId: 'alias/ml-data', encryptionAlgorithm: 'SYMMETRIC_DEFAULT', n: i },
    responseElements: null,
    requestID: `req-${i}`,
    readOnly: false,
    resources: [{ ARN: KEY_ARN, type: 'AWS::KMS::Key', accountId: ACCOUNT }],
    ...overrides,
  });
}

export interface Fixture {
  db: SqliteDatabase;
  store: SqliteAuditStore;
  signer: LocalAuditSigner;
  trail: AuditTrail;
}

/** A trail on an in-memory database with timers off unless options say otherwise. */
export async function openFixture(options: Partial<AuditTrailOptions> = {}, db: SqliteDatabase = new Database(':memory:')): Promise<Fixture> {
  const store = new SqliteAuditStore(db);
  const signer = LocalAuditSigner.generate();
  const trail = await AuditTrail.open({ store, signer, digestIntervalMs: 0, digestEveryRecords: 0, ...options });
  return { db, store, signer, trail };
}

/** Appends events 1..n concurrently and waits for all. */
export async function appendMany(trail: AuditTrail, n: number, from = 1): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => trail.append(sampleEvent(from + i))));
}

/** What an attacker with the DB file does first: remove the append-only guards. */
export function dropGuards(db: SqliteDatabase): void {
  const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_%'").all() as { name: string }[];
  for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
}

/** A deferred-index policy that indexes only on close (no idle or backlog trigger during a test). */
export const INDEX_ON_CLOSE = { idleMs: 3_600_000, backlog: Number.MAX_SAFE_INTEGER, chunk: 1024 };

/**
 * Temporary directories and migrated audit.db files for the writer tests, all removed after
 * the calling test file's tests. Call at the top level of a test file (it registers `after`).
 */
export function writerStoreFixtures(prefix: string): {
  tempDir(): string;
  freshStore(): Promise<{ path: string; store: SqliteAuditStore }>;
} {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  return {
    tempDir,
    /** A fresh audit.db with the current schema, ready for writers. */
    async freshStore() {
      const path = join(tempDir(), 'audit.db');
      const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
      await store.prepareForWriters();
      return { path, store };
    },
  };
}
