import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeAuditEvent, type EncodedAuditEvent } from '../../audit/encode-event.js';
import type { AuditTerm } from '../../audit/record-index.js';
import type { AuditResource } from '../../audit/record.js';
import { sampleEvent } from '../../audit/test-support.js';
import { encodeTermsColumn } from './audit-append.js';
import { encodeAuditBatch } from './audit-writer-client.js';
import { seededRandom } from '../../common/seeded-random.js';

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
        return [JSON.stringify([x.eventTime, x.eventMs, x.eventName, x.eventSource, x.errorCode, x.accessDenied ? 1 : 0]), JSON.stringify(x.terms.map((t) => [t.kind, t.value])), e.json].join('\n');
      })
      .join('\n');
    assert.equal(encodeAuditBatch(entries), expected);
    assert.equal(encodeAuditBatch([]), '');
  });

  it('writes the columns of records that differ from an earlier one in a single column as their own (no remembered line reused)', () => {
    const base = { eventTime: '2026-01-01T00:00:00Z', eventMs: 1767225600000, eventName: 'PutObject', eventSource: 's3.amazonaws.com', errorCode: null as string | null, accessDenied: false, terms: [] };
    const variants = [
      base,
      { ...base, eventTime: '2026-01-01T00:00:01Z' },
      { ...base, eventMs: 1767225601000 },
      { ...base, eventName: 'GenerateDataKey' },
      { ...base, eventSource: 'kms.amazonaws.com' },
      { ...base, errorCode: 'AccessDenied' },
      { ...base, accessDenied: true },
      { ...base, eventMs: -0 },
      { ...base, eventMs: 0 },
    ];
    // Each variant after the base, and after each other one, in batches of two and all together.
    const entries = variants.flatMap((v) => [base, v, v]).map((index, i): EncodedAuditEvent => ({ json: `{"n":${i}}`, eventID: `e${i}`, index }));
    const line = (e: EncodedAuditEvent): string => {
      const x = e.index;
      return [JSON.stringify([x.eventTime, x.eventMs, x.eventName, x.eventSource, x.errorCode, x.accessDenied ? 1 : 0]), JSON.stringify(x.terms.map((t) => [t.kind, t.value])), e.json].join('\n');
    };
    for (let i = 0; i + 1 < entries.length; i++) assert.equal(encodeAuditBatch(entries.slice(i, i + 2)), entries.slice(i, i + 2).map(line).join('\n'), `pair ${i}`);
    assert.equal(encodeAuditBatch(entries), entries.map(line).join('\n'));
  });
});

describe('encodeAuditBatch (remembered heads)', () => {
  it('writes the terms of records whose columns are equal and whose terms differ in one term, its kind, its value or their number as their own', () => {
    const columns = { eventTime: '2026-01-01T00:00:00Z', eventMs: 1767225600000, eventName: 'PutObject', eventSource: 's3.amazonaws.com', errorCode: null, accessDenied: false };
    const terms: AuditTerm[] = [
      { kind: 'bucket', value: 'b-1' },
      { kind: 'principal', value: 'AKIA1' },
    ];
    const variants: AuditTerm[][] = [
      terms,
      [...terms],
      [{ kind: 'key', value: 'b-1' }, terms[1] as AuditTerm],
      [{ kind: 'bucket', value: 'b-2' }, terms[1] as AuditTerm],
      [terms[0] as AuditTerm, { kind: 'principal', value: 'AKIA2' }],
      [terms[0] as AuditTerm],
      [...terms, { kind: 'principal', value: 'AKIA3' }],
      [],
      [{ kind: 'bucket', value: 5 } as unknown as AuditTerm, terms[1] as AuditTerm],
      [{ kind: 'bucket', value: '5' }, terms[1] as AuditTerm],
    ];
    // Each variant after the base and after each other one, more of them than heads are kept.
    const entries = variants.flatMap((v) => [terms, v, v]).map((t, i): EncodedAuditEvent => ({ json: `{"n":${i}}`, eventID: `e${i}`, index: { ...columns, terms: t } }));
    const line = (e: EncodedAuditEvent): string => {
      const x = e.index;
      return [JSON.stringify([x.eventTime, x.eventMs, x.eventName, x.eventSource, x.errorCode, x.accessDenied ? 1 : 0]), JSON.stringify(x.terms.map((t) => [t.kind, t.value])), e.json].join('\n');
    };
    for (let i = 0; i + 1 < entries.length; i++) assert.equal(encodeAuditBatch(entries.slice(i, i + 2)), entries.slice(i, i + 2).map(line).join('\n'), `pair ${i}`);
    for (let i = 0; i < entries.length; i++) assert.equal(encodeAuditBatch([entries[i] as EncodedAuditEvent]), line(entries[i] as EncodedAuditEvent), `alone ${i}`);
    assert.equal(encodeAuditBatch(entries), entries.map(line).join('\n'));
  });
  it('writes an index changed after it was encoded as it is now, not as the head remembered for it', () => {
    const terms: AuditTerm[] = [{ kind: 'bucket', value: 'b-1' }];
    const index = { eventTime: '2026-01-01T00:00:00Z', eventMs: 1767225600000, eventName: 'PutObject', eventSource: 's3.amazonaws.com', errorCode: null, accessDenied: false, terms };
    const entry: EncodedAuditEvent = { json: '{}', eventID: 'e', index };
    assert.equal(encodeAuditBatch([entry]), `${JSON.stringify(['2026-01-01T00:00:00Z', 1767225600000, 'PutObject', 's3.amazonaws.com', null, 0])}\n[["bucket","b-1"]]\n{}`);
    (terms[0] as { value: string }).value = 'b-9';
    terms.push({ kind: 'bucket', value: 'b-2' });
    index.eventName = 'GetObject';
    assert.equal(encodeAuditBatch([entry]), `${JSON.stringify(['2026-01-01T00:00:00Z', 1767225600000, 'GetObject', 's3.amazonaws.com', null, 0])}\n[["bucket","b-9"],["bucket","b-2"]]\n{}`);
  });
});

describe('encodeAuditBatch (randomized, against the uncached encoding)', () => {
  // encodeAuditBatch as it was before any line or head was remembered: every record's
  // columns, terms and JSON written afresh (the batch text is what the journal frames hold).
  const reference = (entries: readonly EncodedAuditEvent[]): string =>
    entries
      .map((e) => {
        const x = e.index;
        const q = (v: unknown): string => String(JSON.stringify(v));
        return `[${q(x.eventTime)},${x.eventMs},${q(x.eventName)},${q(x.eventSource)},${x.errorCode === null ? 'null' : q(x.errorCode)},${x.accessDenied ? 1 : 0}]\n${encodeTermsColumn(x.terms)}\n${e.json}`;
      })
      .join('\n');

  it('writes 3000 random records in batches of 1 to 8 exactly as the uncached encoding does', () => {
    // Columns and terms drawn from small pools, so that a record repeats, alternates with or
    // cycles among more kinds than are kept; each copied or rebuilt equal at times, terms
    // arrays that differ from a pool's in one term's kind or value, and odd values (a number,
    // NaN, an unknown kind: an index that came over IPC is typed, not checked).
    const rand = seededRandom(0xba7c4);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const values: unknown[] = [...ODD, 'b-1', 'AKIA1', 5, '5', Number.NaN, -0, null];
    const kinds = ['key', 'bucket', 'principal', 'k"ind'];
    const randomTerm = (): AuditTerm => ({ kind: pick(kinds), value: pick(values) }) as AuditTerm;
    const termPool: AuditTerm[][] = Array.from({ length: 6 }, () => Array.from({ length: Math.floor(rand() * 4) }, randomTerm));
    const choices = {
      eventTime: ['2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', ...ODD.slice(0, 4)],
      eventMs: [0, -0, 1767225600000, 1767225601000],
      eventName: ['PutObject', 'GenerateDataKey', 'GetObject', ...ODD],
      eventSource: ['s3.amazonaws.com', 'kms.amazonaws.com', ODD[3] as string],
      errorCode: [null, null, null, 'AccessDenied', ...ODD.slice(0, 4)],
      accessDenied: [false, false, true],
    };
    type Columns = { [K in keyof typeof choices]: (typeof choices)[K][number] };
    const fields = Object.keys(choices) as (keyof Columns)[];
    const randomColumns = (): Columns => Object.fromEntries(fields.map((f) => [f, pick<unknown>(choices[f])])) as Columns;
    const columnPool = Array.from({ length: 6 }, randomColumns);
    const terms = (): AuditTerm[] => {
      const base = pick(termPool);
      const r = rand();
      if (r < 0.4) return base;
      if (r < 0.6) return base.map((t) => ({ ...t }));
      if (r < 0.7) return [...base];
      if (r < 0.9 && base.length > 0) {
        // One term of the pool's changed: its kind, or its value (5 becoming '5' among others).
        const i = Math.floor(rand() * base.length);
        const t = base[i] as AuditTerm;
        return base.map((u, j) => (j !== i ? u : rand() < 0.5 ? ({ kind: pick(kinds), value: t.value } as AuditTerm) : ({ kind: t.kind, value: rand() < 0.5 ? pick(values) : String(t.value) } as AuditTerm)));
      }
      return Array.from({ length: Math.floor(rand() * 4) }, randomTerm);
    };
    let n = 0;
    for (let batch = 0; n < 3000; batch++) {
      const entries = Array.from({ length: 1 + Math.floor(rand() * 8) }, (): EncodedAuditEvent => {
        const columns = { ...pick(columnPool) };
        // Now and then one column of a pool's changed (to a value it may already have).
        if (rand() < 0.2) {
          const f = pick(fields);
          (columns as Record<string, unknown>)[f] = pick<unknown>(choices[f]);
        }
        n += 1;
        return { json: `{"n":${n}}`, eventID: `e${n}`, index: { ...columns, terms: terms() } };
      });
      assert.equal(encodeAuditBatch(entries), reference(entries), `batch ${batch}`);
    }
  });
});

describe('the batch text of an event with secrets', () => {
  it('carries none of them: not in the record, the columns, the terms or the text posted to the writer', () => {
    const SECRET = 'SECRET-MARKER-5f1c';
    const arnLike = `arn:aws:kms:us-east-1:111122223333:key/${SECRET}`;
    const event = sampleEvent(3, {
      requestParameters: {
        keyId: 'alias/ok',
        Plaintext: arnLike,
        KeyId: 'k-1',
        SSECustomerKey: SECRET,
        'x-amz-server-side-encryption-customer-key': SECRET,
        encryptionContext: { dataKey: Buffer.from(SECRET) as unknown as string, nested: [{ key_material: SECRET, password: arnLike }] },
      },
      responseElements: { credentials: { accessKeyId: 'ASIAX', secretAccessKey: SECRET, sessionToken: SECRET }, Plaintext: SECRET },
      resources: [{ ARN: 'arn:aws:kms:us-east-1:111122223333:key/k-1', type: 'AWS::KMS::Key', Body: arnLike } as AuditResource],
    });
    const encoded = encodeAuditEvent(event);
    const text = encodeAuditBatch([encoded]);
    const b64 = Buffer.from(SECRET).toString('base64');
    for (const where of [encoded.json, JSON.stringify(encoded.index), text, JSON.stringify(encoded.dropped)]) {
      assert.ok(!where.includes(SECRET) && !where.includes(b64), where);
    }
    // The non-secret parts are there, so the checks above looked at a real record.
    assert.ok(text.includes('"alias/ok"') && text.includes('["key","k-1"]'), text);
    assert.ok(encoded.dropped.includes('$.requestParameters.Plaintext') && encoded.dropped.includes('$.responseElements.credentials.secretAccessKey'), String(encoded.dropped));
  });
});
