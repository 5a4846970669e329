import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { etagIsPlaintextMd5, sealedBodyEtag } from './etag.js';
import type { SseLabel } from './sealing.js';

describe('sealed body ETags', () => {
  it('only SSE-S3 takes the plaintext MD5', () => {
    const labels: Record<SseLabel, boolean> = { 'SSE-S3': true, 'SSE-KMS': false, 'DSSE-KMS': false, 'SSE-C': false };
    for (const [label, md5] of Object.entries(labels)) assert.equal(etagIsPlaintextMd5(label as SseLabel), md5, label);
  });

  it('quotes the MD5 when given, else 16 fresh random bytes in hex', () => {
    assert.equal(sealedBodyEtag('d41d8cd98f00b204e9800998ecf8427e'), '"d41d8cd98f00b204e9800998ecf8427e"');
    const a = sealedBodyEtag(undefined);
    assert.match(a, /^"[0-9a-f]{32}"$/);
    assert.notEqual(sealedBodyEtag(undefined), a);
  });
});
