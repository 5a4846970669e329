import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EncodedAuditEvent } from '../../audit/encode-event.js';
import type { AuditTerm } from '../../audit/record-index.js';
import { encodeTermsColumn } from './audit-append.js';
import { encodeAuditBatch } from './audit-writer-client.js';

const ODD = ['', 'plain', 'with "quote"', 'back\\slash', 'line\nfeed', '\u0000', 'é€', '\u2028', '\ud834\udd1e', 'lone \ud800', '\udfff'];

describe('encodeTermsColumn', () => {
  it('is JSON.stringify of the [kind, value] pairs, for known and unknown kinds and odd values', () => {
    const kinds = ['key', 'bucket', 'principal', 'name', 'k"ind'];
    const terms: AuditTerm[] = kinds.flatMap((kind) => ODD.map((value) => ({ kind, value }) as AuditTerm));
    assert.equal(encodeTermsColumn(terms), JSON.stringify(terms.map((t) => [t.kind, t.value])));
    assert.equal(encodeTermsColumn([]), '[]');
    // A term that came over IPC is typed, not checked: a non-string still serialises as JSON does.
    const odd = [{ kind: 'key', value: 5 }] as unknown as AuditTerm[];
    assert.equal(encodeTermsColumn(odd), JSON.stringify([['key', 5]]));
  });
});

describe('encodeAuditBatch', () => {
  it('writes each record as its columns (JSON.stringify of the array), its terms column and its JSON, joined by line feeds', () => {
    const entries: EncodedAuditEvent[] = ODD.map((s, i) => ({
      json: `{"n":${i}}`,
      eventID: `e${i}`,
      index: { eventTime: s, eventMs: i * 1000, eventName: `${s}name`, eventSource: 'kms.amazonaws.com', errorCode: i % 2 === 0 ? null : s, accessDenied: i % 3 === 0, terms: [{ kind: 'key', value: s }] },
    }));
    const expected = entries
      .map((e) => {
        const x = e.index;
        return [JSON.stringify([x.eventTime, x.eventMs, x.eventName, x.eventSource, x.errorCode, x.accessDenied ? 1 : 0]), encodeTermsColumn(x.terms), e.json].join('\n');
      })
      .join('\n');
    assert.equal(encodeAuditBatch(entries), expected);
    assert.equal(encodeAuditBatch([]), '');
  });
});
