import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordHash } from './chain.js';
import { AuditStoreTruncatedError } from './errors.js';
import type { AuditProblem } from './problems.js';
import { LocalAuditSigner } from './signer.js';
import { appendMany, dropGuards, openFixture } from './test-support.js';
import type { Fixture } from './test-support.js';
import { verifyAudit } from './verify.js';

/** 20 records; digest #0 signs 1..10, digest #1 signs 11..20 (on close). Guards dropped. */
async function trail20(): Promise<Fixture> {
  const f = await openFixture();
  await appendMany(f.trail, 10);
  await f.trail.checkpoint();
  await appendMany(f.trail, 10, 11);
  await f.trail.close();
  dropGuards(f.db);
  return f;
}

async function problems(f: Fixture): Promise<AuditProblem[]> {
  return (await verifyAudit(f.store, f.signer.publicKeyPem())).problems;
}

function swapRows(f: Fixture, a: number, b: number): void {
  f.db.exec(`UPDATE audit_records SET seq = -1 WHERE seq = ${a}`);
  f.db.exec(`UPDATE audit_records SET seq = ${a} WHERE seq = ${b}`);
  f.db.exec(`UPDATE audit_records SET seq = ${b} WHERE seq = -1`);
}

describe('tamper detection on the SQLite store', () => {
  it('the store refuses UPDATE and DELETE while its guards are in place', async () => {
    const f = await openFixture();
    await appendMany(f.trail, 2);
    await f.trail.close();
    assert.throws(() => f.db.exec('DELETE FROM audit_records WHERE seq = 1'), /append-only/);
    assert.throws(() => f.db.exec("UPDATE audit_digests SET signature = ''"), /append-only/);
  });

  it('names a record rewritten by INSERT OR REPLACE, which the guards do not stop (README: why no guard)', async () => {
    const f = await openFixture();
    await appendMany(f.trail, 10);
    await f.trail.close();
    // Guards in place: a REPLACE deletes the old row without firing the delete trigger.
    f.db.exec(
      `INSERT OR REPLACE INTO audit_records SELECT seq, event_time, event_ms, event_name, event_source, error_code, access_denied,
         replace(event_json, '"127.0.0.1"', '"10.6.6.6"'), prev_hash, hash, terms FROM audit_records WHERE seq = 4`,
    );
    assert.match(f.db.prepare('SELECT event_json FROM audit_records WHERE seq = 4').pluck().get() as string, /10\.6\.6\.6/);
    assert.deepEqual(await problems(f), [{ kind: 'record-modified', seq: 4 }]);
  });

  it('an untouched trail is intact', async () => {
    assert.deepEqual(await problems(await trail20()), []);
  });

  it('names the record whose field was edited in place', async () => {
    const f = await trail20();
    f.db.exec(`UPDATE audit_records SET event_json = replace(event_json, '"127.0.0.1"', '"10.6.6.6"') WHERE seq = 5`);
    assert.deepEqual(await problems(f), [{ kind: 'record-modified', seq: 5 }]);
  });

  it('names a deleted record', async () => {
    const f = await trail20();
    f.db.exec('DELETE FROM audit_records WHERE seq = 7');
    assert.deepEqual(await problems(f), [{ kind: 'records-deleted', fromSeq: 7, toSeq: 7 }]);
  });

  it('names two swapped records (whole rows, distant and adjacent)', async () => {
    const f = await trail20();
    swapRows(f, 3, 8);
    swapRows(f, 14, 15);
    // The lookup index summarises chunks of 1,024 seqs: both rows stay in chunk 0 with their
    // own columns, so lookups still find each of them and the index does not disagree.
    assert.deepEqual(await problems(f), [
      { kind: 'records-swapped', seqs: [3, 8] },
      { kind: 'records-swapped', seqs: [14, 15] },
    ]);
  });

  it('names records whose contents alone were swapped, and their stale lookup columns', async () => {
    const f = await trail20();
    const get = f.db.prepare('SELECT event_json AS j FROM audit_records WHERE seq = ?');
    const a = (get.get(12) as { j: string }).j;
    const b = (get.get(16) as { j: string }).j;
    f.db.prepare('UPDATE audit_records SET event_json = ? WHERE seq = ?').run(b, 12);
    f.db.prepare('UPDATE audit_records SET event_json = ? WHERE seq = ?').run(a, 16);
    assert.deepEqual(await problems(f), [
      { kind: 'records-swapped', seqs: [12, 16] },
      { kind: 'index-mismatch', seq: 12 },
      { kind: 'index-mismatch', seq: 16 },
    ]);
  });

  it('names a signed tail that was truncated, with digest and head evidence', async () => {
    const f = await trail20();
    f.db.exec('DELETE FROM audit_records WHERE seq > 17');
    assert.deepEqual(await problems(f), [{ kind: 'tail-truncated', fromSeq: 18, toSeq: 20, evidence: ['digest', 'head'] }]);
  });

  it('refuses to reopen a trail whose head is behind its last digest, rather than reuse seqs', async () => {
    const f = await trail20();
    f.db.exec('DELETE FROM audit_records WHERE seq > 17');
    f.db.exec("UPDATE audit_head SET last_seq = 17, last_hash = (SELECT hash FROM audit_records WHERE seq = 17)");
    await assert.rejects(openFixture({}, f.db), AuditStoreTruncatedError);
    assert.deepEqual(await problems(f), [{ kind: 'tail-truncated', fromSeq: 18, toSeq: 20, evidence: ['digest'] }]);
  });

  it('names an unsigned tail that was truncated, from the head counter', async () => {
    const f = await openFixture();
    await appendMany(f.trail, 5);
    await f.trail.checkpoint();
    await appendMany(f.trail, 3, 6);
    dropGuards(f.db);
    f.db.exec('DELETE FROM audit_records WHERE seq > 6');
    assert.deepEqual(await problems(f), [{ kind: 'tail-truncated', fromSeq: 7, toSeq: 8, evidence: ['head'] }]);
  });

  it('names a forged digest inserted by someone without the key', async () => {
    const f = await trail20();
    const forger = LocalAuditSigner.generate();
    const payloadJson = JSON.stringify({ digestVersion: 1, keyId: f.signer.keyId, fromSeq: 21, toSeq: 30 });
    const signature = (await forger.sign(Buffer.from(payloadJson))).toString('base64');
    f.db.prepare('INSERT INTO audit_digests (from_seq, to_seq, payload_json, signature) VALUES (21, 30, ?, ?)').run(payloadJson, signature);
    assert.deepEqual(await problems(f), [{ kind: 'digest-forged', digestIndex: 2 }]);
  });

  it('names a digest whose signed statement was altered, and the hole it leaves in the digest chain', async () => {
    const f = await trail20();
    f.db.exec(`UPDATE audit_digests SET payload_json = replace(payload_json, '"toSeq":10', '"toSeq":9') WHERE digest_no = 1`);
    assert.deepEqual(await problems(f), [
      { kind: 'digest-forged', digestIndex: 0, fromSeq: 1, toSeq: 9 },
      { kind: 'digest-missing', digestIndex: 1, fromSeq: 1, toSeq: 10 },
    ]);
  });

  it('names a deleted digest', async () => {
    const f = await trail20();
    f.db.exec('DELETE FROM audit_digests WHERE digest_no = 1');
    assert.deepEqual(await problems(f), [{ kind: 'digest-missing', digestIndex: 0, fromSeq: 1, toSeq: 10 }]);
  });

  it('finds a record rewritten with its hash recomputed: a chain break after it', async () => {
    const f = await trail20();
    rewrite(f, 5, 5);
    assert.deepEqual(await problems(f), [{ kind: 'chain-break', seq: 6 }]);
  });

  it('finds a rewrite rehashed to the end of the trail: the signed digests disagree', async () => {
    const f = await trail20();
    rewrite(f, 5, 20);
    f.db.prepare('UPDATE audit_head SET last_hash = (SELECT hash FROM audit_records WHERE seq = 20)').run();
    assert.deepEqual(await problems(f), [
      { kind: 'digest-mismatch', digestIndex: 0, fromSeq: 1, toSeq: 10 },
      { kind: 'digest-mismatch', digestIndex: 1, fromSeq: 11, toSeq: 20 },
    ]);
  });

  it('names a record whose lookup columns were edited', async () => {
    const f = await trail20();
    f.db.exec("UPDATE audit_records SET event_name = 'Decrypt' WHERE seq = 4");
    f.db.exec("UPDATE audit_records SET terms = '[]' WHERE seq = 9");
    // The chunk's time span no longer reaches its newest record (a time lookup would skip it).
    f.db.exec('UPDATE audit_chunk_time SET max_ms = max_ms - 1 WHERE chunk = 0');
    assert.deepEqual(await problems(f), [
      { kind: 'index-mismatch', seq: 4 },
      { kind: 'index-mismatch', seq: 9 },
      { kind: 'index-mismatch', seq: 20 },
    ]);
  });

  // Each derived column lookups filter by, edited alone: records 1..20 are Encrypts without
  // error by alice at second i (see sampleEvent).
  const COLUMN_EDITS = [
    "UPDATE audit_records SET event_source = 's3.amazonaws.com' WHERE seq = 6",
    "UPDATE audit_records SET error_code = 'AccessDeniedException' WHERE seq = 6",
    'UPDATE audit_records SET access_denied = 1 WHERE seq = 6',
    'UPDATE audit_records SET event_ms = event_ms + 1 WHERE seq = 6',
    "UPDATE audit_records SET event_name = 'Sign' WHERE seq = 6",
    'UPDATE audit_records SET terms = NULL WHERE seq = 6',
  ];
  for (const sql of COLUMN_EDITS) {
    it(`names the record of: ${sql}`, async () => {
      const f = await trail20();
      f.db.exec(sql);
      assert.deepEqual(await problems(f), [{ kind: 'index-mismatch', seq: 6 }]);
    });
  }
});

/** Changes record `from`'s source IP and recomputes hashes of `from..to` as an attacker with the algorithm would. */
function rewrite(f: Fixture, from: number, to: number): void {
  const rows = f.db.prepare('SELECT seq, event_json AS j, prev_hash AS p FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY seq').all(from, to) as {
    seq: number;
    j: string;
    p: string;
  }[];
  const update = f.db.prepare('UPDATE audit_records SET event_json = ?, prev_hash = ?, hash = ? WHERE seq = ?');
  let prev = rows[0]?.p ?? '';
  for (const r of rows) {
    const json = r.seq === from ? r.j.replace('"127.0.0.1"', '"10.6.6.6"') : r.j;
    const hash = recordHash(prev, r.seq, json);
    update.run(json, prev, hash, r.seq);
    prev = hash;
  }
}
