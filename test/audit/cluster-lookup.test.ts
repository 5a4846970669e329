import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../helpers/signed-request.js';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { clusterWorkers, serverFixture, workerJournalName } from '../helpers/server-process.js';

// LookupEvents on a `--workers 2` server (src/audit/README.md, "Several processes"): workers
// only journal, the primary's writer thread chains every journal, and a worker's lookup first
// asks the primary to ingest (cluster IPC) — so a lookup sees every acknowledged write at once,
// on the worker that served the write and on its sibling. Without that request a lookup right
// after the answer would miss the record until the thread's next poll (up to 250 ms).

const LOOKUP = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';
const ROUNDS = 6;

interface Answer {
  readonly status: number;
  readonly requestId: string;
  readonly json: Record<string, unknown>;
}

/**
 * One signed JSON 1.1 call on a connection of its own (agent: false): node:cluster's
 * round-robin hands each new connection to the next worker, so consecutive calls alternate.
 */
async function freshCall(endpoint: string, service: 'kms' | 'cloudtrail', target: string, body: string): Promise<Answer> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }, region: TEST_REGION, service, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body,
  });
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/', agent: false, headers: signed.headers as Record<string, string> }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-amzn-requestid'] ?? ''), json: JSON.parse(text) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}


describe('cipherlake server --workers 2, LookupEvents', () => {
  const fixture = serverFixture('cipherlake-audit-cluster-lookup-');

  it("finds a write at once, on the worker that served it and on its sibling", { timeout: 60_000 }, async () => {
    const dataDir = fixture.dir();
    const journalDir = join(dataDir, 'audit-journal');
    const server = await fixture.spawn({ dataDir, args: ['--workers', '2'], timeoutMs: 25_000 });
    const workers = clusterWorkers(server.child.pid!);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    const names = workers.map((w) => workerJournalName(w));
    // Which worker served a request: the one whose journal holds its request id (the record is
    // journaled before the answer, and a journal file keeps its bytes until it is sealed).
    const servedBy = (requestId: string): number => {
      const hits = names.filter((name) => readdirSync(journalDir).some((f) => f.startsWith(`${name}.`) && readFileSync(join(journalDir, f), 'latin1').includes(requestId)));
      assert.equal(hits.length, 1, `request ${requestId} is in exactly one worker's journal`);
      return names.indexOf(hits[0]!);
    };

    let sameWorker = 0;
    let otherWorker = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const created = await freshCall(server.endpoint, 'kms', 'TrentService.CreateKey', '{}');
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
      const writer = servedBy(created.requestId);
      // Two lookups right after the answer, each on a new connection: round-robin puts them on
      // different workers, so one of them is the worker that served the write.
      for (let i = 0; i < 2; i++) {
        const found = await freshCall(server.endpoint, 'cloudtrail', LOOKUP, JSON.stringify({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: keyId }] }));
        assert.equal(found.status, 200, JSON.stringify(found.json));
        const events = found.json['Events'] as { EventName: string; CloudTrailEvent: string }[];
        assert.deepEqual(
          events.map((e) => [e.EventName, (JSON.parse(e.CloudTrailEvent) as { requestID: string }).requestID]),
          [['CreateKey', created.requestId]],
          `round ${round}, lookup ${i}: the write is found at once`,
        );
        if (servedBy(found.requestId) === writer) sameWorker++;
        else otherWorker++;
      }
    }
    // Both cases were exercised (round-robin over new connections), the task's case above all.
    assert.ok(sameWorker > 0, `a lookup on the worker that served the write: ${sameWorker}`);
    assert.ok(otherWorker > 0, `a lookup on its sibling: ${otherWorker}`);

    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
  });
});
