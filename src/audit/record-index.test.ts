import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditResource } from './record.js';
import { indexTermsOf, type AuditTerm } from './record-index.js';
import { ACCOUNT, sampleEvent } from './test-support.js';

/** Code-unit order of kind, then of value: the order the lookup index and verification expect. */
function referenceOrder(a: AuditTerm, b: AuditTerm): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('indexTermsOf', () => {
  it('gives each distinct term once, sorted by kind then value, for events of 1 to 20 resources (up to ~23 terms, past the 16 of the insertion sort) in random order', () => {
    const rand = seededRandom(0x5eed);
    const names = ['b', 'a', 'ab', 'B', 'a-1', 'a_1', 'z', 'é', '10', '9', 'k'];
    for (let round = 0; round < 400; round++) {
      const count = 1 + Math.floor(rand() * 20);
      const resources: AuditResource[] = [];
      for (let i = 0; i < count; i++) {
        const name = `${names[Math.floor(rand() * names.length)]}${Math.floor(rand() * 4)}`;
        // Buckets and keys, some repeated: bucket and key terms interleaved with the principal's.
        resources.push(rand() < 0.5 ? { ARN: `arn:aws:s3:::${name}`, type: 'AWS::S3::Bucket' } : { ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${name}`, type: 'AWS::KMS::Key', accountId: ACCOUNT });
      }
      const terms = indexTermsOf(sampleEvent(round, { resources }));
      const expected = [...new Map(terms.map((t) => [`${t.kind}\u0000${t.value}`, t])).values()].sort(referenceOrder);
      assert.equal(terms.length, expected.length, `round ${round}: a term appears twice`);
      assert.deepEqual(terms, expected, `round ${round}`);
      assert.ok(terms.length > 2, `round ${round}: the event's principal terms are missing`);
    }
  });
});
