import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { seededRandom } from '../../common/seeded-random.js';
import { AuthenticationError } from '../errors.js';
import { parseSignature, type SignedRequestView } from './parse.js';

/**
 * The Authorization parameter list as the parser read it before its field names were
 * compared in place: split on commas, `name=value` with both trimmed, a later duplicate
 * winning, parts without a name ignored. Kept here as the reference.
 */
function referenceFields(auth: string): { credential?: string; signedHeaders?: string; signature?: string } {
  const out: { credential?: string; signedHeaders?: string; signature?: string } = {};
  for (const part of auth.slice(auth.indexOf(' ') + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 'Credential') out.credential = value;
    else if (name === 'SignedHeaders') out.signedHeaders = value;
    else if (name === 'Signature') out.signature = value;
  }
  return out;
}

const view = (auth: string): SignedRequestView => ({ method: 'POST', rawPath: '/', rawQuery: '', headers: [['authorization', auth], ['x-amz-date', '20260102T030405Z']] });

/** What parseSignature makes of the three fields, or 'incomplete' when it refuses them as missing. */
function parsedFields(auth: string): { credential?: string; signedHeaders?: string; signature?: string } | 'incomplete' {
  try {
    const sig = parseSignature(view(auth))!;
    return { credential: `${sig.accessKeyId}/${sig.date}/${sig.region}/${sig.service}/aws4_request`, signedHeaders: sig.signedHeaders.join(';'), signature: sig.signature };
  } catch (err) {
    if (err instanceof AuthenticationError && /requires 'Credential', 'SignedHeaders' and 'Signature'/.test(err.message)) return 'incomplete';
    throw err;
  }
}

describe('parseSignature: the Authorization header fields', () => {
  it('reads exactly what split-and-trim read: spacing, tabs, other white space, near-miss names, duplicates, order (seeded)', () => {
    const random = seededRandom(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const spaces = ['', ' ', '  ', '\t', ' \t', '\u00a0', '\ufeff', '\u2028', '\n'];
    // The three real names weigh more, so that most headers carry all three.
    const names = ['Credential', 'SignedHeaders', 'Signature', 'Credential', 'SignedHeaders', 'Signature', 'Credential', 'SignedHeaders', 'Signature', 'credential', 'Credentials', 'Signatur', 'SignedHeader', 'XCredential', 'Credential ', ' Signature'];
    const values: Record<string, readonly string[]> = {
      Credential: ['AKIAEXAMPLE/20260102/us-east-1/kms/aws4_request', 'AKIAOTHER/20260102/eu-west-1/s3/aws4_request'],
      SignedHeaders: ['host;x-amz-date', 'content-type;host;x-amz-date;x-amz-target'],
      Signature: ['a'.repeat(64), 'B'.repeat(64)],
    };
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const parts: string[] = [];
      const count = 2 + Math.floor(random() * 5);
      for (let p = 0; p < count; p++) {
        const name = pick(names);
        const value = pick(values[name.trim()] ?? ['junk', '']);
        parts.push(random() < 0.05 ? `${pick(spaces)}=${value}` : `${pick(spaces)}${name}${pick(spaces)}=${pick(spaces)}${value}${pick(spaces)}`);
      }
      const auth = `AWS4-HMAC-SHA256 ${parts.join(pick([',', ', ', ' ,', ',\t']))}`;
      const expected = referenceFields(auth);
      const complete = expected.credential !== undefined && expected.signedHeaders !== undefined && expected.signature !== undefined;
      const got = parsedFields(auth);
      if (!complete) {
        assert.equal(got, 'incomplete', JSON.stringify(auth));
        continue;
      }
      assert.notEqual(got, 'incomplete', JSON.stringify(auth));
      assert.deepEqual(got, { credential: expected.credential, signedHeaders: expected.signedHeaders, signature: expected.signature!.toLowerCase() }, JSON.stringify(auth));
      compared++;
    }
    assert.ok(compared > 500, `only ${compared} complete headers compared`);
  });
});
