import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { GENESIS_HASH, recordHash } from '../../audit/chain.js';
import { AuditCommitError } from '../../audit/errors.js';
import { encodeAuditEvent } from '../../audit/encode-event.js';
import { LocalAuditSigner } from '../../audit/signer.js';
import { INDEX_ON_CLOSE as INDEX, sampleEvent, writerStoreFixtures } from '../../audit/test-support.js';
import { AuditTrail } from '../../audit/trail.js';
import { verifyAudit } from '../../audit/verify.js';
import { SqliteAuditStore } from './audit-store.js';
import { encodeAuditBatch, ThreadAuditWriter } from './audit-writer-client.js';
import { SqliteAuditWriter } from './audit-writer.js';

const { freshStore } = writerStoreFixtures('cipherlake-audit-writer-');

/** What ThreadAuditWriter posts for these events (see AuditBatchText). */
function batchText(from: number, n: number): string {
  return encodeAuditBatch(Array.from({ length: n }, (_, i) => encodeAuditEvent(sampleEvent(from + i))));
}

describe('SqliteAuditWriter: several writers, one chain', () => {
  it('chains each batch after the head read inside its transaction, whichever connection wrote last', async () => {
    const { path, store } = await freshStore();
    const a = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    const b = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    const first = a.commit(batchText(1, 3));
    const second = b.commit(batchText(4, 2)); // b never saw a's batch in memory
    const third = a.commit(batchText(6, 1));
    assert.deepEqual([first.firstSeq, first.head.seq, second.firstSeq, second.head.seq, third.firstSeq, third.head.seq], [1, 3, 4, 5, 6, 6]);
    assert.equal(a.indexNext(100), 6);
    assert.equal(b.indexNext(100), 0, 'the watermark is read inside the indexing transaction: nothing is indexed twice');
    // Lines that do not form records (a raw line feed somewhere) fail the whole batch, nothing written.
    assert.throws(() => a.commit(`${batchText(7, 1)}\n{"half":\n"record"}`), /malformed audit batch/);
    assert.throws(() => b.commit(`${batchText(7, 1)}\n"not columns"\n[]\n{}`), /malformed audit batch/);
    assert.equal(store.db.prepare('SELECT max(seq) FROM audit_records').pluck().get(), 6);
    a.close();
    b.close();
    const report = await verifyAudit(store, LocalAuditSigner.generate().publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSeq, 6);
    store.close();
  });
});

describe('SqliteAuditWriter: multi-row inserts', () => {
  it('a batch longer than one INSERT statement (37 records: 16 + 16 + 5 rows) chains every record and verifies', async () => {
    const { path, store } = await freshStore();
    const w = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    const batches = [batchText(1, 37), batchText(38, 16)];
    const first = w.commit(batches[0]!);
    const second = w.commit(batches[1]!);
    assert.deepEqual([first.firstSeq, first.head.seq, second.firstSeq, second.head.seq], [1, 37, 38, 53]);
    w.close();
    const rows = store.db
      .prepare('SELECT seq, event_time, event_ms, event_name, event_source, error_code, access_denied, terms, event_json FROM audit_records ORDER BY seq')
      .raw(true)
      .all() as unknown[][];
    assert.deepEqual(
      rows.map((r) => r[0]),
      Array.from({ length: 53 }, (_, i) => i + 1),
    );
    // Each row holds exactly its own record's lines (columns, terms, event JSON), not a neighbour's.
    const lines = batches.join('\n').split('\n');
    rows.forEach((r, i) => {
      const [columns, terms, json] = lines.slice(i * 3, i * 3 + 3) as [string, string, string];
      assert.deepEqual(r.slice(1), [...(JSON.parse(columns) as unknown[]), terms, json], `row ${i + 1}`);
    });
    assert.equal(new Set(rows.map((r) => r[2])).size, 53, 'the sample events differ in their time: a shifted row would show');
    const report = await verifyAudit(store, LocalAuditSigner.generate().publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSeq, 53);
    store.close();
  });
});

describe('SqliteAuditWriter.ingestFrames: journal payloads chained as bytes', () => {
  const ROWS = 'SELECT seq, event_time, event_ms, event_name, event_source, error_code, access_denied, typeof(event_json), event_json, prev_hash, hash, typeof(terms), terms FROM audit_records ORDER BY seq';
  const rowsOf = (store: SqliteAuditStore): unknown[][] => store.db.prepare(ROWS).raw(true).all() as unknown[][];
  // Hand-made records: non-ASCII and escaped text, an empty terms line and an empty eventJson line.
  const odd = [
    `["2026-01-01T00:00:00Z",1767225600000,"Ünïcödé €","s\\u0000",null,0]\n[["key","k-é𝄞"]]\n{"a":"é€𝄞\\n\\u2028"}`,
    `["2026-01-01T00:00:01Z",1767225601000,"Empty","src","AccessDenied",1]\n\n{}`,
    `["2026-01-01T00:00:02Z",1767225602000,"NoJson","src",null,0]\n[]\n`,
  ].join('\n');

  it('stores each record as its lines say (TEXT columns, hashes of the text), across payloads that are views of one buffer', async () => {
    const texts = [batchText(1, 3), odd, batchText(4, 20)];
    const { path, store } = await freshStore();
    const w = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    // Payloads as views into one larger buffer, as a journal read gives them.
    const whole = Buffer.from(`xx${texts.join('')}yy`, 'utf8');
    let at = 2;
    const payloads = texts.map((text) => {
      const n = Buffer.byteLength(text, 'utf8');
      const view = whole.subarray(at, at + n);
      at += n;
      return view;
    });
    const committed = w.ingestFrames(payloads, { file: 'p.1', from: 0, to: 10 });
    assert.equal(w.journalOffset('p.1'), 10);
    w.close();
    // What each record must become, from the text: its columns, its eventJson and terms as TEXT, the chain over the text.
    const lines = texts.join('\n').split('\n');
    const expected: unknown[][] = [];
    let prev = GENESIS_HASH;
    for (let i = 0; i * 3 < lines.length; i++) {
      const [columns, terms, json] = lines.slice(i * 3, i * 3 + 3) as [string, string, string];
      const hash = recordHash(prev, i + 1, json);
      expected.push([i + 1, ...(JSON.parse(columns) as unknown[]), 'text', json, prev, hash, 'text', terms]);
      prev = hash;
    }
    assert.equal(expected.length, 26);
    assert.deepEqual(committed, { firstSeq: 1, head: { seq: 26, hash: prev } });
    assert.deepEqual(rowsOf(store), expected);
    const report = await verifyAudit(store, LocalAuditSigner.generate().publicKeyPem());
    // The hand-made records' columns are not what their JSON would index: only the chain is asked.
    assert.deepEqual(report.problems.filter((p) => p.kind !== 'index-mismatch'), []);
    store.close();
  });

  it('a payload that is not UTF-8 is stored as its decoded text would be (U+FFFD), and still verifies', async () => {
    const { path, store } = await freshStore();
    const w = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    const good = Buffer.from(batchText(1, 1), 'utf8');
    const bad = Buffer.concat([Buffer.from('["2026-01-01T00:00:00Z",1767225600000,"N","S",null,0]\n[]\n{"v":"', 'utf8'), Buffer.of(0xff, 0xc3), Buffer.from('"}', 'utf8')]);
    w.ingestFrames([good, bad], { file: 'p.1', from: 0, to: 1 });
    w.close();
    assert.equal(store.db.prepare('SELECT event_json FROM audit_records WHERE seq = 2').pluck().get(), '{"v":"\ufffd\ufffd"}');
    const report = await verifyAudit(store, LocalAuditSigner.generate().publicKeyPem());
    assert.deepEqual(report.problems.filter((p) => p.kind !== 'index-mismatch'), []);
    store.close();
  });

  it('refuses a payload whose lines are not whole records, even when the frames together would be, and writes nothing', async () => {
    const { path, store } = await freshStore();
    const w = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    const [cols, terms, json] = batchText(1, 1).split('\n') as [string, string, string];
    const ragged = [Buffer.from(`${cols}\n${terms}`), Buffer.from(json)]; // 2 + 1 lines
    assert.throws(() => w.ingestFrames(ragged, { file: 'p.1', from: 0, to: 1 }), /malformed audit batch/);
    assert.throws(() => w.ingestFrames([Buffer.from(`${batchText(1, 1)}\n`)], { file: 'p.1', from: 0, to: 1 }), /malformed audit batch/, 'a trailing line feed is a fourth line');
    assert.throws(() => w.ingestFrames([Buffer.from(`[1,2]\n${terms}\n${json}`)], { file: 'p.1', from: 0, to: 1 }), /malformed audit batch/);
    assert.throws(() => w.ingestFrames([Buffer.from(`nope\n${terms}\n${json}`)], { file: 'p.1', from: 0, to: 1 }), SyntaxError);
    assert.equal(w.journalOffset('p.1'), 0);
    w.close();
    assert.equal(store.db.prepare('SELECT count(*) FROM audit_records').pluck().get(), 0);
    store.close();
  });
});

describe('ThreadAuditWriter behind AuditTrail', () => {
  it('the indexing thread keeps the backlog under its bound between commits, with no idle moment', async () => {
    const { path, store } = await freshStore();
    const policy = { idleMs: 3_600_000, backlog: 20, chunk: 10 };
    const trail = await AuditTrail.open({ store, signer: null, writer: new ThreadAuditWriter({ path, synchronous: 'NORMAL', index: policy }), digestIntervalMs: 0 });
    const watermark = (): number => store.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get() as number;
    for (let round = 0; round < 12; round++) {
      await Promise.all(Array.from({ length: 5 }, (_, i) => trail.append(sampleEvent(round * 5 + i))));
    }
    // One more commit: the thread serves messages in order, so the indexing that
    // followed the last batch's commit is done when this answers.
    await Promise.all([trail.append(sampleEvent(60))]);
    const head = 61;
    assert.ok(watermark() > 0, 'indexed under load');
    assert.ok(head - watermark() < policy.backlog + 5, `backlog ${head - watermark()} stays near the bound`);
    await trail.close();
    assert.equal(watermark(), head, 'the rest on close');
    store.close();
  });

  it('two trails with their own writer threads appending at once make one gapless chain that verifies, signed by a third', async () => {
    const { path, store } = await freshStore();
    const signer = LocalAuditSigner.generate();
    // As in a cluster: the primary signs (sharedChain), each worker's trail appends through its thread.
    const primary = await AuditTrail.open({ store, signer, sharedChain: true, digestIntervalMs: 0, digestEveryRecords: 0 });
    const workers = await Promise.all(
      [0, 1].map(async (w) => {
        const s = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
        const writer = new ThreadAuditWriter({ path, synchronous: 'NORMAL', index: w === 0 ? INDEX : null });
        return { s, trail: await AuditTrail.open({ store: s, signer: null, writer, digestIntervalMs: 0 }) };
      }),
    );
    // Rounds in which both append at once: their commits alternate, so each thread must chain
    // after records the other wrote (a head kept in memory would collide at round 2).
    const receipts = [];
    for (let round = 0; round < 30; round++) {
      receipts.push(...(await Promise.all(workers.flatMap(({ trail }, w) => Array.from({ length: 5 }, (_, i) => trail.append(sampleEvent(w * 1000 + round * 5 + i)))))));
    }
    const seqs = receipts.map((r) => r.seq ?? 0).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: 300 }, (_, i) => i + 1), 'every seq once, no gap');
    assert.ok(workers.every(({ trail }) => trail.stats().transactions >= 30));
    for (const { trail, s } of workers) {
      assert.equal(await trail.checkpoint(), null, 'a trail without a signer signs nothing');
      await trail.close();
      s.close();
    }
    await primary.close();
    const report = await verifyAudit(store, signer.publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSignedSeq, 300, 'the primary signed the head the workers moved');
    assert.equal(report.unsignedTail, null);
    store.close();
  });

  it('close() after appends leaves a signed final digest over every record, stored through the thread', async () => {
    const { path, store } = await freshStore();
    const signer = LocalAuditSigner.generate();
    const trail = await AuditTrail.open({ store, signer, writer: new ThreadAuditWriter({ path, synchronous: 'FULL', index: INDEX }), digestIntervalMs: 0, digestEveryRecords: 0 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => trail.append(sampleEvent(i))));
    await trail.close();
    const report = await verifyAudit(store, signer.publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSeq, 40);
    assert.equal(report.lastSignedSeq, 40);
    const watermark = store.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get();
    assert.equal(watermark, 40, 'the indexing thread indexed its backlog on close');
    store.close();
  });

  it('a commit that fails in the thread rejects every append of its batch with AuditCommitError; the chain goes on without a gap', async () => {
    const { path, store } = await freshStore();
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), writer: new ThreadAuditWriter({ path, synchronous: 'NORMAL', index: null }), digestIntervalMs: 0 });
    assert.equal((await trail.append(sampleEvent(1))).seq, 1);
    // Another connection makes the next inserts fail (as a full disk or a corrupt page would).
    const other = new Database(path);
    other.exec("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END");
    const failed = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => trail.append(sampleEvent(10 + i))));
    assert.equal(failed.length, 5);
    for (const r of failed) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof AuditCommitError, String(r.reason));
    }
    other.exec('DROP TRIGGER fail_audit');
    other.close();
    assert.equal((await trail.append(sampleEvent(20))).seq, 2, 'nothing of the failed batch was written');
    await trail.close();
    store.close();
  });
});
