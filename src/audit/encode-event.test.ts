import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, quoteJsonString, type JsonValue } from './canonical-json.js';
import { encodeAuditEvent } from './encode-event.js';
import type { AuditEvent } from './record.js';
import { normalizeKeyReference, recordIndexOf } from './record-index.js';
import { sanitizeEvent } from './redact.js';
import { sampleEvent } from './test-support.js';
import { seededRandom } from '../common/seeded-random.js';


// Characters that exercise every branch of the quoting: plain ASCII, the escapes, controls,
// non-ASCII, paired and lone surrogates, U+2028.
const ALPHABET = ['a', 'Z', '0', '-', ':', '/', ' ', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '€', '\u2028', '\ud834\udd1e', '\ud800', '\udfff'];
const NAMES = ['keyId', 'KeyId', 'Plaintext', 'plain_text', 'SSECustomerKey', 'sse-customer-key', 'bucketName', 'aliasName', 'x', 'b', 'a', '1', '__proto__x', 'é', 'Body', 'ok'];

function randomString(rand: () => number, max = 12): string {
  let s = '';
  const n = Math.floor(rand() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

function randomValue(rand: () => number, depth: number): unknown {
  const pick = Math.floor(rand() * (depth > 2 ? 8 : 11));
  switch (pick) {
    case 0:
      return randomString(rand);
    case 1:
      return [0, -0, 1.5, -3, 1e21, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY][Math.floor(rand() * 8)];
    case 2:
      return rand() < 0.5;
    case 3:
      return null;
    case 4:
      return undefined;
    case 5:
      return rand() < 0.5 ? new Date(Math.floor(rand() * 2e12)) : new Date(Number.NaN);
    case 6:
      return Buffer.from('BINARY');
    case 7:
      return 10n;
    case 8:
    case 9:
      return randomObject(rand, depth + 1);
    default:
      return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  }
}

function randomObject(rand: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = rand() < 0.1 ? (Object.create(null) as Record<string, unknown>) : {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const name = rand() < 0.7 ? (NAMES[Math.floor(rand() * NAMES.length)] as string) : randomString(rand, 6);
    out[name] = randomValue(rand, depth);
  }
  return out;
}

/** A realistic event with random parameters, identity fields and odd strings where callers supply them. */
function randomEvent(rand: () => number, i: number): AuditEvent {
  const event = sampleEvent(i, {
    requestParameters: randomObject(rand, 0) as AuditEvent['requestParameters'] & object,
    userAgent: randomString(rand, 20),
    requestID: randomString(rand, 20),
  });
  if (rand() < 0.3) event.responseElements = { keyMetadata: { keyId: rand() < 0.5 ? randomString(rand) : 'arn:aws:kms:us-east-1:111122223333:key/k-1' } };
  if (rand() < 0.3) event.errorCode = rand() < 0.5 ? 'AccessDeniedException' : randomString(rand);
  if (rand() < 0.3) event.resources = [{ ARN: rand() < 0.5 ? 'arn:aws:s3:::bucket-1/obj' : randomString(rand), type: 'AWS::S3::Object' }];
  if (rand() < 0.2) (event as unknown as Record<string, unknown>)['zExtra'] = randomValue(rand, 1);
  return event;
}

function hasDate(v: unknown): boolean {
  if (v instanceof Date) return true;
  if (v === null || typeof v !== 'object') return false;
  return Object.values(v).some(hasDate);
}

describe('encodeAuditEvent (differential)', () => {
  it('equals canonicalJson(sanitizeEvent(event)) with the same dropped paths, and its index is what the stored JSON yields, for 3000 random events', () => {
    const rand = seededRandom(0xc1f4e2);
    let indexed = 0;
    for (let i = 0; i < 3000; i++) {
      const event = randomEvent(rand, i % 50);
      const encoded = encodeAuditEvent(event);
      const reference = sanitizeEvent(event);
      assert.equal(encoded.json, canonicalJson(reference.value), `event ${i}`);
      // What verification re-hashes after a parse must be the same bytes.
      assert.equal(canonicalJson(JSON.parse(encoded.json)), encoded.json, `event ${i}`);
      assert.deepEqual([...encoded.dropped].sort(), [...reference.dropped].sort(), `event ${i}`);
      // A Date parameter is a string only once stored, and the index reads the event: compare where none is.
      if (hasDate(event.requestParameters)) continue;
      assert.deepEqual(encoded.index, recordIndexOf(JSON.parse(encoded.json) as AuditEvent), `event ${i}`);
      indexed += 1;
    }
    assert.ok(indexed > 1000, `only ${indexed} events had their index compared`);
  });

  it('sorts objects of 0 to 40 keys as the reference does, integer-like keys and code-unit order included', () => {
    const rand = seededRandom(0x50f7);
    const names = ['10', '9', '0', '01', 'a', 'B', 'b', 'aa', 'a-', 'a_', 'é', '\ud834\udd1e', 'z', 'Z', '~', ' '];
    for (let i = 0; i < 300; i++) {
      const params: Record<string, unknown> = {};
      const count = Math.floor(rand() * 41);
      for (let k = 0; k < count; k++) params[`${names[Math.floor(rand() * names.length)]}${rand() < 0.5 ? Math.floor(rand() * 30) : ''}`] = k;
      const event = sampleEvent(i, { requestParameters: params as AuditEvent['requestParameters'] & object });
      assert.equal(encodeAuditEvent(event).json, canonicalJson(sanitizeEvent(event).value), `event ${i}`);
    }
  });

  it('the same event encodes to the same bytes again (the per-field caches change nothing)', () => {
    const rand = seededRandom(7);
    const events = Array.from({ length: 200 }, (_, i) => randomEvent(rand, i));
    const first = events.map((e) => encodeAuditEvent(e).json);
    // Again, in reverse and then in order (each field's remembered value now differs), and
    // against the reference rather than the encoder's own first answers.
    const reversed = [...events].reverse().map((e) => encodeAuditEvent(e).json).reverse();
    assert.deepEqual(reversed, first);
    assert.deepEqual(
      events.map((e) => encodeAuditEvent(e).json),
      events.map((e) => canonicalJson(sanitizeEvent(e).value)),
    );
  });
});

describe('encodeAuditEvent (values kept on their second sighting)', () => {
  it('encodes string values that repeat, alternate, cycle among a few or never repeat exactly as the reference does, first in an object or after another member', () => {
    // Each field draws from a pool of 1 to 9 values, so some fields repeat every record, some
    // alternate or cycle through more values than are kept, and some change every time; the
    // same name appears at several depths and first or not in its object.
    const rand = seededRandom(0x5ec0d);
    const pools = new Map<string, string[]>();
    const pick = (name: string, i: number): string => {
      let pool = pools.get(name);
      if (pool === undefined) {
        pool = Array.from({ length: 1 + Math.floor(rand() * 9) }, () => `${randomString(rand, 6)}${name}`);
        pools.set(name, pool);
      }
      return rand() < 0.1 ? `fresh-${i}-${randomString(rand, 4)}` : (pool[Math.floor(rand() * pool.length)] as string);
    };
    const params = (i: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const name of ['a', 'bucketName', 'key', 'type', 'z']) if (rand() < 0.8) out[name] = pick(name, i);
      if (rand() < 0.5) out['nested'] = { a: pick('a', i), type: pick('type', i) };
      return out;
    };
    for (let i = 0; i < 4000; i++) {
      const event = sampleEvent(i % 7, {
        requestParameters: params(i) as AuditEvent['requestParameters'] & object,
        userAgent: pick('userAgent', i),
        requestID: pick('requestID', i),
        eventName: pick('eventName', i),
      });
      if (rand() < 0.5) event.resources = [{ ARN: pick('ARN', i), type: pick('type', i) }, { ARN: pick('ARN', i), type: pick('type', i) }];
      assert.equal(encodeAuditEvent(event).json, canonicalJson(sanitizeEvent(event).value), `event ${i}`);
    }
  });
});

describe('encodeAuditEvent (kept values at the length limit)', () => {
  it('encodes values of 250 to 300 units with odd characters, repeated, alternating and rebuilt equal, exactly as the reference does', () => {
    // Values just under, at and over the length a field keeps (256), each seen many times (so
    // kept when short enough), first in their object or after another member; some are rebuilt
    // by concatenation each time, equal as strings to the kept one but not the same string.
    const rand = seededRandom(0x256);
    const long = (n: number): string => {
      let s = '';
      while (s.length < n) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
      // A surrogate pair cut at the end leaves a lone high surrogate: kept, as a caller may send it.
      return s.slice(0, n);
    };
    const pool = [250, 255, 256, 256, 257, 300].map(long);
    for (let i = 0; i < 1500; i++) {
      const v = pool[Math.floor(rand() * pool.length)] as string;
      const w = rand() < 0.5 ? v : `${v.slice(0, 100)}${v.slice(100)}`;
      const other = pool[Math.floor(rand() * pool.length)] as string;
      const event = sampleEvent(i % 7, { requestParameters: rand() < 0.5 ? { a: w, key: other } : { key: w }, userAgent: other });
      assert.equal(encodeAuditEvent(event).json, canonicalJson(sanitizeEvent(event).value), `event ${i}`);
    }
  });
});

/** `v` and every plain object and array inside it frozen (Dates, Buffers and the like left as they are). */
function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    for (const inner of Object.values(v)) deepFreeze(inner);
    Object.freeze(v);
  }
  return v;
}

describe('encodeAuditEvent (frozen parts, encoded once)', () => {
  it('a random event whose parts are frozen and shared encodes, twice and among other events, exactly as the reference does, with the same dropped paths', () => {
    const rand = seededRandom(0xf402e);
    const events = Array.from({ length: 1500 }, (_, i) => randomEvent(rand, i % 50));
    // The parts of every third event, frozen, reused by the next event (the edge's shared parts).
    for (let i = 0; i + 1 < events.length; i += 3) {
      const from = events[i] as AuditEvent;
      const to = events[i + 1] as AuditEvent;
      to.userIdentity = deepFreeze(from.userIdentity);
      to.requestParameters = deepFreeze(from.requestParameters);
      if (from.resources !== undefined) to.resources = deepFreeze(from.resources);
    }
    for (let round = 0; round < 2; round++) {
      for (const [i, event] of events.entries()) {
        const encoded = encodeAuditEvent(event);
        const reference = sanitizeEvent(event);
        assert.equal(encoded.json, canonicalJson(reference.value), `round ${round} event ${i}`);
        assert.deepEqual([...encoded.dropped].sort(), [...reference.dropped].sort(), `round ${round} event ${i}`);
      }
    }
  });

  it('a frozen part that can still change (a mutable object or a Date inside, an accessor) is encoded afresh each time', () => {
    const inner = { keyId: 'k-1' };
    const shallow = Object.freeze({ outer: 'o', inner });
    const when = new Date(Date.UTC(2026, 0, 1));
    const withDate = Object.freeze({ when });
    let n = 0;
    const accessor = Object.freeze(Object.defineProperty({}, 'counter', { enumerable: true, get: () => `c${(n += 1)}` }));
    const parts = Object.freeze([shallow, withDate, accessor]);
    const encode = (): string => encodeAuditEvent(sampleEvent(0, { requestParameters: { parts: parts as unknown as JsonValue } })).json;
    const first = encode();
    assert.match(first, /"keyId":"k-1".*"when":"2026-01-01T00:00:00.000Z".*"counter":"c1"/);
    inner.keyId = 'k-2';
    when.setTime(Date.UTC(2027, 0, 1));
    const second = encode();
    assert.match(second, /"keyId":"k-2".*"when":"2027-01-01T00:00:00.000Z".*"counter":"c2"/);
  });

  it('a frozen part with a denylisted field reports its dropped path every time, never its value', () => {
    const identity = Object.freeze({ arn: 'arn:aws:iam::111122223333:user/u', SecretAccessKey: 'SECRET-MARKER', type: 'IAMUser' });
    for (let i = 0; i < 3; i++) {
      const encoded = encodeAuditEvent(sampleEvent(i, { userIdentity: identity as unknown as AuditEvent['userIdentity'] }));
      assert.deepEqual(encoded.dropped, ['$.userIdentity.SecretAccessKey']);
      assert.doesNotMatch(encoded.json, /SECRET-MARKER/);
    }
  });
});

describe('encodeAuditEvent (a record read by its members)', () => {
  // The record's members are read by name; the result must be the walk's whatever order they
  // were added in, whatever their values, and however the record strays from its shape.
  const MEMBERS = [
    'additionalEventData', 'awsRegion', 'errorCode', 'errorMessage', 'eventCategory', 'eventID', 'eventName', 'eventSource', 'eventTime', 'eventType',
    'eventVersion', 'managementEvent', 'readOnly', 'recipientAccountId', 'requestID', 'requestParameters', 'resources', 'responseElements',
    'sourceIPAddress', 'tlsDetails', 'userAgent', 'userIdentity', 'vpcEndpointId',
  ];
  const ODD_NAMES = ['zExtra', 'Plaintext', 'SecretAccessKey', 'aaa', 'eventid', 'EventName', '__proto__x'];

  function shuffled<T>(rand: () => number, items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  it('equals the reference for 3000 records with their members added in random order, some of them odd values, missing, present as undefined, or beside other keys', () => {
    const rand = seededRandom(0x7e3b);
    let byMembers = 0;
    for (let i = 0; i < 3000; i++) {
      const base = sampleEvent(i % 50, { requestParameters: randomObject(rand, 0) as AuditEvent['requestParameters'] & object }) as unknown as Record<string, unknown>;
      base['additionalEventData'] = rand() < 0.5 ? { bytesTransferredIn: i, SignatureVersion: 'SigV4' } : Object.freeze({ keyMaterialId: 'm' });
      base['tlsDetails'] = { tlsVersion: 'TLSv1.3', cipherSuite: randomString(rand), clientProvidedHostHeader: 'h' };
      if (rand() < 0.5) base['vpcEndpointId'] = 'vpce-1';
      if (rand() < 0.5) base['errorCode'] = randomString(rand);
      const record: Record<string, unknown> = rand() < 0.05 ? (Object.create(null) as Record<string, unknown>) : {};
      for (const name of shuffled(rand, Object.keys(base))) {
        const roll = rand();
        if (roll < 0.04) continue; // missing
        // Not eventID, eventName or eventSource: the receipt and the lookup columns take them as
        // text (String), which an object without a prototype refuses; the edge gives strings.
        const odd = roll < 0.15 && name !== 'eventID' && name !== 'eventName' && name !== 'eventSource';
        record[name] = roll < 0.07 ? undefined : odd ? randomValue(rand, 1) : base[name];
      }
      if (rand() < 0.1) record[ODD_NAMES[Math.floor(rand() * ODD_NAMES.length)] as string] = randomValue(rand, 1);
      const event = record as unknown as AuditEvent;
      const encoded = encodeAuditEvent(event);
      const reference = sanitizeEvent(event);
      assert.equal(encoded.json, canonicalJson(reference.value), `record ${i}`);
      assert.deepEqual([...encoded.dropped].sort(), [...reference.dropped].sort(), `record ${i}`);
      if (Object.keys(record).every((k) => MEMBERS.includes(k) && record[k] !== undefined) && Object.getPrototypeOf(record) === Object.prototype) byMembers += 1;
    }
    // Most records take the by-member path, and enough take the walk, for both to be compared.
    assert.ok(byMembers > 500 && byMembers < 2800, `${byMembers} of 3000 records had only their own members`);
  });

  it('reports a dropped member once, whether the record is read by its members or walked', () => {
    const record = sampleEvent(1) as unknown as Record<string, unknown>;
    record['requestParameters'] = { Plaintext: 'SECRET', keyId: 'k' };
    assert.deepEqual(encodeAuditEvent(record as unknown as AuditEvent).dropped, ['$.requestParameters.Plaintext']);
    record['zExtra'] = Buffer.from('x');
    assert.deepEqual([...encodeAuditEvent(record as unknown as AuditEvent).dropped].sort(), ['$.requestParameters.Plaintext', '$.zExtra']);
  });
});

describe('encodeAuditEvent (names not cached)', () => {
  it('encodes long and many distinct field names exactly, with values that change between records', () => {
    const long = 'n'.repeat(300);
    for (let i = 0; i < 6000; i++) {
      const event = sampleEvent(i % 60, {
        requestParameters: { [`${long}${i % 3}`]: `v${i}`, [`name-${i}`]: `w${i % 2}`, encryptionContext: { [`${long}"${i % 2}`]: i % 2 === 0 ? 'same' : `x${i}` } },
      });
      assert.equal(encodeAuditEvent(event).json, canonicalJson(sanitizeEvent(event).value), `event ${i}`);
    }
  });
});

describe('quoteJsonString', () => {
  it('equals JSON.stringify for every string of the alphabet up to length 2, and for random strings', () => {
    for (const a of ALPHABET) {
      assert.equal(quoteJsonString(a), JSON.stringify(a));
      for (const b of ALPHABET) assert.equal(quoteJsonString(a + b), JSON.stringify(a + b));
    }
    const rand = seededRandom(99);
    for (let i = 0; i < 5000; i++) {
      const s = randomString(rand, 40);
      assert.equal(quoteJsonString(s), JSON.stringify(s));
    }
  });

  it('equals JSON.stringify for every UTF-16 code unit alone and between other characters', () => {
    // Collect mismatches rather than assert per case: 200k assertions would dominate the run.
    const bad: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      for (const s of [ch, `a${ch}`, `${ch}a`, `k/${ch}${ch}-1`]) if (quoteJsonString(s) !== JSON.stringify(s)) bad.push(c.toString(16));
    }
    assert.deepEqual(bad, []);
    // What JSON.stringify leaves as it is, the quoter must too (U+2028/2029, DEL, non-ASCII).
    assert.equal(quoteJsonString('\u2028\u2029\u007f\u00e9'), '"\u2028\u2029\u007f\u00e9"');
  });

  it('equals JSON.stringify for every surrogate pair, and for lone surrogates next to each boundary', () => {
    const bad: string[] = [];
    for (let hi = 0xd800; hi <= 0xdbff; hi++) {
      for (let lo = 0xdc00; lo <= 0xdfff; lo++) {
        const s = String.fromCharCode(hi, lo);
        if (quoteJsonString(s) !== JSON.stringify(s)) bad.push(`${hi.toString(16)} ${lo.toString(16)}`);
      }
    }
    const around = [0x00, 0x1f, 0x20, 0x22, 0x5c, 0x61, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff];
    for (let u = 0xd800; u <= 0xdfff; u++) {
      for (const n of around) {
        for (const s of [String.fromCharCode(u, n), String.fromCharCode(n, u), String.fromCharCode(u, u), String.fromCharCode(n, u, n)]) {
          if (quoteJsonString(s) !== JSON.stringify(s)) bad.push(`${u.toString(16)} ${n.toString(16)}`);
        }
      }
    }
    assert.deepEqual(bad, []);
    // The oracle itself escapes lone surrogates (well-formed JSON.stringify), and pairs are kept.
    assert.equal(quoteJsonString('\ud800x'), '"\\ud800x"');
    assert.equal(quoteJsonString('\ud834\udd1e'), '"\ud834\udd1e"');
  });

  it('equals JSON.stringify for random strings over the whole code-unit range', () => {
    const rand = seededRandom(0x2028);
    const bad: number[] = [];
    for (let i = 0; i < 20000; i++) {
      let s = '';
      const n = Math.floor(rand() * 24);
      for (let j = 0; j < n; j++) {
        const r = rand();
        // Biased towards the interesting ranges: ASCII, controls, surrogates.
        const c = r < 0.4 ? 0x20 + Math.floor(rand() * 0x5f) : r < 0.55 ? Math.floor(rand() * 0x20) : r < 0.8 ? 0xd800 + Math.floor(rand() * 0x800) : Math.floor(rand() * 0x10000);
        s += String.fromCharCode(c);
      }
      if (quoteJsonString(s) !== JSON.stringify(s)) bad.push(i);
    }
    assert.deepEqual(bad, []);
  });
});

describe('normalizeKeyReference', () => {
  it('gives the same answer from its cache as on first sight', () => {
    const refs = ['arn:aws:kms:us-east-1:111122223333:key/k-1', 'arn:aws:kms:us-east-1:111122223333:alias/a', 'alias/a', 'k-1', 'arn:aws:s3:::b'];
    const first = refs.map(normalizeKeyReference);
    assert.deepEqual(first, ['k-1', 'alias/a', 'alias/a', 'k-1', 'arn:aws:s3:::b']);
    assert.deepEqual(refs.map(normalizeKeyReference), first);
  });

  it('stays exact through evictions, for refs of any length, and never answers one ref with another\'s entry', () => {
    // More distinct refs than the cache holds (4096), twice over, in two orders: each answer
    // is computed, not taken from the literal expectation of a neighbour.
    const expected = (i: number): string => (i % 3 === 0 ? `k-${i}` : i % 3 === 1 ? `alias/a-${i}` : `plain-${i}`);
    const refOf = (i: number): string =>
      i % 3 === 0 ? `arn:aws:kms:region-${i % 7}:${100000000000 + (i % 5)}:key/k-${i}` : i % 3 === 1 ? `arn:aws:kms:us-east-1:111122223333:alias/a-${i}` : `plain-${i}`;
    const n = 10000;
    const bad: number[] = [];
    for (let i = 0; i < n; i++) if (normalizeKeyReference(refOf(i)) !== expected(i)) bad.push(i);
    for (let i = n - 1; i >= 0; i--) if (normalizeKeyReference(refOf(i)) !== expected(i)) bad.push(i);
    assert.deepEqual(bad, []);
    // Longer than what is cached: still normalised, every time.
    const long = `arn:aws:kms:us-east-1:111122223333:key/${'k'.repeat(100_000)}`;
    for (let i = 0; i < 3; i++) assert.equal(normalizeKeyReference(long), 'k'.repeat(100_000));
    assert.equal(normalizeKeyReference(`${long}x`), `${'k'.repeat(100_000)}x`);
  });
});

describe('recordIndexOf (cached parts)', () => {
  it('indexes resource ARNs and eventTime exactly through cache evictions and alternating times', () => {
    const bad: number[] = [];
    for (let i = 0; i < 9000; i++) {
      // Long shared prefixes: entries must be told apart by their whole ARN.
      const pad = 'p'.repeat(40);
      const arn = i % 2 === 0 ? `arn:aws:kms:us-east-1:111122223333:key/k-${pad}${i}` : `arn:aws:s3:::bucket-${pad}${i}/o/${i}`;
      // Alternating seconds, so a stale remembered parse would show.
      const time = new Date(Date.UTC(2026, 0, 1, 0, 0, i % 2, 0));
      const event = sampleEvent(0, { eventTime: time, resources: [{ ARN: arn, type: 'x' }], requestParameters: {} });
      const index = recordIndexOf(event);
      const want = i % 2 === 0 ? { kind: 'key', value: `k-${pad}${i}` } : { kind: 'bucket', value: `bucket-${pad}${i}` };
      if (index.eventMs !== time.getTime() || !index.terms.some((t) => t.kind === want.kind && t.value === want.value)) bad.push(i);
    }
    assert.deepEqual(bad, []);
    const garbled = sampleEvent(0);
    (garbled as unknown as Record<string, unknown>)['eventTime'] = 'not a time';
    assert.equal(recordIndexOf(garbled).eventMs, 0);
    assert.equal(recordIndexOf(sampleEvent(1)).eventMs, Date.UTC(2026, 0, 1, 0, 0, 1));
  });
});
