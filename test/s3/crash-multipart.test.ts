import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { assertPutsSurvived, crashFixture, listAll, sha, startPutLoad } from './crash-server.js';
import { signedFetch } from './raw-sign.js';

const MiB = 1024 * 1024;
const BUCKET = 'crashmp';

/** One multipart upload prepared before the load: its parts are all uploaded, only the completion is left. */
interface Prepared {
  readonly key: string;
  readonly uploadId: string;
  readonly body: Buffer;
  /** The ETags UploadPart returned, in part order. */
  readonly partEtags: readonly string[];
  /** The `-N` ETag a completion must report: MD5 of the parts' binary ETags, then the part count. */
  readonly etag: string;
  /** What the completion got: 'acked' only for a 200 with a CompleteMultipartUploadResult body. */
  outcome: 'unsent' | 'in-flight' | 'acked' | 'refused';
  ackedEtag?: string;
}

const bare = (etag: string): string => etag.replace(/"/g, '');

/** CreateMultipartUpload + 2–3 parts of 5 MiB + a small last part, uploaded one after another. */
async function prepare(endpoint: string, i: number): Promise<Prepared> {
  const key = `mp/u${i}`;
  const sse = i % 2 === 0 ? 'AES256' : 'aws:kms';
  const created = await signedFetch(endpoint, { method: 'POST', path: `/${BUCKET}/${key}`, query: { uploads: '' }, headers: { 'x-amz-content-sha256': sha(Buffer.alloc(0)), 'x-amz-server-side-encryption': sse } });
  const xml = await created.text();
  assert.equal(created.status, 200, xml);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(xml)![1]!;
  const sizes = [...Array.from({ length: 2 + (i % 2) }, () => 5 * MiB), 1000 + i * 3331];
  const parts = sizes.map((n) => randomBytes(n));
  const partEtags: string[] = [];
  for (const [n, part] of parts.entries()) {
    const res = await signedFetch(endpoint, { method: 'PUT', path: `/${BUCKET}/${key}`, query: { partNumber: String(n + 1), uploadId }, headers: { 'x-amz-content-sha256': sha(part) }, body: part });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    partEtags.push(res.headers.get('etag')!);
  }
  const md5 = createHash('md5');
  for (const e of partEtags) md5.update(Buffer.from(bare(e), 'hex'));
  return { key, uploadId, body: Buffer.concat(parts), partEtags, etag: `"${md5.digest('hex')}-${parts.length}"`, outcome: 'unsent' };
}

/** Sends CompleteMultipartUpload for every uploaded part; records the outcome on `p`; never throws for a dead server. */
async function complete(endpoint: string, p: Prepared): Promise<void> {
  const doc = Buffer.from(`<CompleteMultipartUpload>${p.partEtags.map((e, n) => `<Part><PartNumber>${n + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`);
  p.outcome = 'in-flight';
  let status: number;
  let text: string;
  try {
    const res = await signedFetch(endpoint, { method: 'POST', path: `/${BUCKET}/${p.key}`, query: { uploadId: p.uploadId }, headers: { 'x-amz-content-sha256': sha(doc) }, body: doc });
    status = res.status;
    text = await res.text();
  } catch {
    return; // the server died first: fate unknown, stays in-flight
  }
  // S3 may answer 200 and then an <Error> body; only a result document is an acknowledgement.
  const etag = /<CompleteMultipartUploadResult[\s\S]*<ETag>([^<]*)<\/ETag>/.exec(text)?.[1];
  if (status === 200 && etag !== undefined) {
    p.outcome = 'acked';
    p.ackedEtag = etag.replace(/&quot;/g, '"');
  } else {
    p.outcome = 'refused';
  }
}

/** The upload IDs ListMultipartUploads shows in the bucket, by key. */
async function listUploads(endpoint: string): Promise<Map<string, string>> {
  const xml = await (await signedFetch(endpoint, { method: 'GET', path: `/${BUCKET}`, query: { uploads: '' } })).text();
  const found = new Map<string, string>();
  for (const m of xml.matchAll(/<Upload>.*?<Key>([^<]*)<\/Key>.*?<UploadId>([^<]*)<\/UploadId>.*?<\/Upload>/gs)) found.set(m[1]!, m[2]!);
  assert.doesNotMatch(xml, /<IsTruncated>true</);
  return found;
}

async function get(endpoint: string, key: string): Promise<{ status: number; body: Buffer; etag: string | null }> {
  const res = await signedFetch(endpoint, { method: 'GET', path: `/${BUCKET}/${key}` });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), etag: res.headers.get('etag') };
}

/**
 * kill -9 while PUTs and CompleteMultipartUpload calls run concurrently, restart on the same
 * data directory: acknowledged PUTs and completions read back identical (multipart with its
 * `-N` ETag); an unacknowledged completion either happened entirely or left the upload in
 * progress and completable; nothing partial is listed.
 */
describe('S3 crash safety: multipart completions (kill -9 under load)', () => {
  const fx = crashFixture('cipherlake-crash-mp-');

  it('acknowledged completions survive; unacknowledged ones are whole or still in progress', async (t) => {
    const first = await fx.spawn();
    assert.equal((await signedFetch(first.endpoint, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
    const uploads: Prepared[] = [];
    for (const batch of [[0, 1, 2, 3], [4, 5, 6, 7]]) uploads.push(...(await Promise.all(batch.map((i) => prepare(first.endpoint, i)))));

    const load = startPutLoad(first.endpoint, BUCKET, 6);
    const keys = load.keys;
    while (load.acked() < 30) await new Promise((r) => setTimeout(r, 20));
    // First wave: completions under PUT load, all answered before the kill.
    await Promise.all(uploads.slice(0, 3).map((p) => complete(first.endpoint, p)));
    // Second wave: kill -9 as soon as one of them is answered, while the rest are in flight.
    const wave = uploads.slice(3);
    const waveDone = Promise.all(wave.map((p) => complete(first.endpoint, p)));
    while (wave.every((p) => p.outcome === 'in-flight') && load.acked() < 400) await new Promise((r) => setTimeout(r, 2));
    first.child.kill('SIGKILL');
    load.stop();
    await first.exited;
    await Promise.all([load.done, waveDone]);
    t.diagnostic(`completions: ${uploads.map((p) => p.outcome).join(' ')}; PUTs acknowledged: ${load.acked()}`);
    assert.ok(uploads.every((p) => p.outcome !== 'refused'), 'no completion was refused');
    assert.ok(uploads.slice(0, 3).every((p) => p.outcome === 'acked'));

    const second = await fx.spawn();
    const inProgress = await listUploads(second.endpoint);
    const unacked = uploads.filter((p) => p.outcome !== 'acked');
    t.diagnostic(`unacknowledged after restart: ${unacked.filter((p) => inProgress.has(p.key)).length} in progress, ${unacked.filter((p) => !inProgress.has(p.key)).length} committed`);
    for (const p of uploads) {
      const got = await get(second.endpoint, p.key);
      if (p.outcome === 'acked') {
        assert.equal(p.ackedEtag, p.etag, `${p.key}: the acknowledged ETag`);
        assert.equal(got.status, 200, p.key);
        assert.equal(sha(got.body), sha(p.body), `${p.key} reads back identical`);
        assert.equal(got.etag, p.etag);
        assert.ok(!inProgress.has(p.key), `${p.key}: completed upload still listed`);
        continue;
      }
      if (got.status === 200) {
        // The completion committed before the kill: whole, and the upload is gone.
        assert.equal(sha(got.body), sha(p.body), `${p.key} reads back identical`);
        assert.equal(got.etag, p.etag);
        assert.ok(!inProgress.has(p.key), `${p.key}: completed upload still listed`);
        continue;
      }
      // Not committed: no object at all, and the upload is still there to complete now.
      assert.equal(got.status, 404, p.key);
      assert.equal(inProgress.get(p.key), p.uploadId, `${p.key}: upload still in progress`);
      p.outcome = 'unsent';
      await complete(second.endpoint, p);
      assert.equal(p.outcome, 'acked', `${p.key}: completes after the restart`);
      assert.equal(p.ackedEtag, p.etag);
      const again = await get(second.endpoint, p.key);
      assert.equal(again.status, 200);
      assert.equal(sha(again.body), sha(p.body), `${p.key} reads back identical after completing`);
    }
    assert.deepEqual([...inProgress.keys()].filter((k) => !uploads.some((p) => p.key === k)), [], 'no unknown upload is listed');

    await assertPutsSurvived(second.endpoint, BUCKET, keys);

    const listed = await listAll(second.endpoint, BUCKET);
    for (const [key, size] of listed) {
      assert.ok(keys.has(key) || uploads.some((p) => p.key === key), `${key} listed but never written`);
      const got = await get(second.endpoint, key);
      assert.equal(got.status, 200);
      assert.equal(got.body.length, size, `${key}: listed size is the full object`);
    }
    assert.ok(uploads.every((p) => listed.get(p.key) === p.body.length), 'every multipart object is listed at its full size');
    const ackedKeys = [...keys].filter(([, s]) => s.acked !== undefined).map(([k]) => k);
    assert.ok(ackedKeys.every((k) => listed.has(k)), 'every acknowledged key is listed');
  });
});
