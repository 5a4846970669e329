import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { canonicalJson } from './canonical-json.js';
import { encodeAuditEvent } from './encode-event.js';
import { AuditCommitError } from './errors.js';
import { IpcAuditSink, serveAuditOverIpc, type AuditIpcChannel } from './ipc-sink.js';
import { recordIndexOf } from './record-index.js';
import type { AuditParameters } from './record.js';
import { sanitizeEvent } from './redact.js';
import { appendMany, openFixture, sampleEvent } from './test-support.js';
import { verifyAudit } from './verify.js';

/** Two connected ends, delivering asynchronously like a real IPC channel; `sent` counts worker → owner messages. */
function channelPair(): { worker: AuditIpcChannel; owner: AuditIpcChannel; sent: unknown[]; disconnect(): void } {
  const toOwner = new EventEmitter();
  const toWorker = new EventEmitter();
  const sent: unknown[] = [];
  return {
    sent,
    worker: {
      send: (m) => {
        sent.push(m);
        setImmediate(() => toOwner.emit('message', structuredClone(m)));
      },
      on: (event: string, listener: (m: unknown) => void) => toWorker.on(event, listener),
    },
    owner: {
      send: (m) => setImmediate(() => toWorker.emit('message', structuredClone(m))),
      on: (event: string, listener: (m: unknown) => void) => toOwner.on(event, listener),
    },
    disconnect: () => toWorker.emit('disconnect'),
  };
}

describe('IpcAuditSink', () => {
  it('commits through the owner trail, batching appends made while a message is in flight', async () => {
    const f = await openFixture();
    const pair = channelPair();
    serveAuditOverIpc(f.trail, pair.owner);
    const sink = new IpcAuditSink(pair.worker);
    await appendMany(f.trail, 2); // the owner's own records share the chain
    const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => sink.append(sampleEvent(100 + i, { requestParameters: { Plaintext: 'secret', keyId: 'k' } }))));
    assert.deepEqual(receipts.map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i + 3));
    assert.equal(pair.sent.length, 2, 'the first append goes alone, the other 49 wait for its ack');
    // Redacted before it leaves the worker: the owner trusts the encoding and does not redact again.
    const wire = JSON.stringify(pair.sent);
    assert.ok(wire.includes('\\"keyId\\":\\"k\\"'), 'the messages carry the encoded events');
    assert.equal(wire.includes('secret'), false, 'no plaintext on the IPC channel');
    await sink.close();
    await f.trail.close();
    const report = await verifyAudit(f.store, f.signer.publicKeyPem());
    assert.equal(report.intact, true);
    assert.equal(report.recordsChecked, 52);
    const stored = f.db.prepare('SELECT event_json AS j FROM audit_records').all() as { j: string }[];
    assert.equal(stored.some((r) => r.j.includes('secret')), false, 'the worker side redacted');
  });

  it('rejects appends whose batch the owner failed to commit, and after the channel closes', async () => {
    const f = await openFixture();
    const pair = channelPair();
    serveAuditOverIpc(f.trail, pair.owner);
    const sink = new IpcAuditSink(pair.worker);
    f.store.appendBatch = () => Promise.reject(new Error('disk full'));
    await assert.rejects(sink.append(sampleEvent(1)), AuditCommitError);
    pair.disconnect();
    await assert.rejects(sink.append(sampleEvent(2)), AuditCommitError);
    await sink.close();
  });
});

describe('encodeAuditEvent', () => {
  it('is canonicalJson(sanitizeEvent(e).value), with the same dropped paths and the index of the parsed JSON', () => {
    const event = sampleEvent(7, {
      // what a careless caller might pass past the types
      requestParameters: { keyId: 'alias/x', Plaintext: 'p', list: [1, undefined, { SessionToken: 't', ok: -0 }, new Date(0)], n: Number.NaN, 'é': 'ü', Z: 'z' } as unknown as AuditParameters,
      responseElements: { keyMetadata: { keyId: 'kid' }, blob: Buffer.from('b') } as unknown as AuditParameters,
      errorCode: 'AccessDeniedException',
    });
    const encoded = encodeAuditEvent(event);
    const reference = sanitizeEvent(event);
    assert.equal(encoded.json, canonicalJson(reference.value));
    assert.deepEqual([...encoded.dropped].sort(), [...reference.dropped].sort());
    assert.deepEqual(encoded.index, recordIndexOf(JSON.parse(encoded.json)));
    assert.equal(encoded.index.accessDenied, true);
    assert.equal(encoded.eventID, event.eventID);
  });
});
