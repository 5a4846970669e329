import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { AuthenticationError, canonicalRequest, parseSignature, rootPrincipal, StaticCredentials, verifySignature, type SignedRequestView } from '../../src/iam/index.js';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, type TestServer } from '../helpers/server.js';
import { rawKmsRequest } from '../helpers/signed-request.js';

/**
 * Vectors from AWS's published Signature Version 4 test suite
 * (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html): the request
 * as sent, the canonical request (creq) and the Authorization header (authz).
 */
interface SuiteVector {
  name: string;
  method: string;
  path: string;
  query: string;
  headers: Array<[string, string]>;
  body: string;
  creq: string;
  signature: string;
  signedHeaders: string;
}

const DATE = '20150830T123600Z';
const H = (...extra: Array<[string, string]>): Array<[string, string]> => [['Host', 'example.amazonaws.com'], ...extra, ['X-Amz-Date', DATE]];
const TAIL = (signed: string, hash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855') => `\n${signed}\n${hash}`;
const HOSTDATE = 'host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n';

const SUITE: SuiteVector[] = [
  { name: 'get-vanilla', method: 'GET', path: '/', query: '', headers: H(), body: '', signedHeaders: 'host;x-amz-date',
    creq: `GET\n/\n\n${HOSTDATE}${TAIL('host;x-amz-date')}`, signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'get-vanilla-query-order-key-case', method: 'GET', path: '/', query: 'Param2=value2&Param1=value1', headers: H(), body: '', signedHeaders: 'host;x-amz-date',
    creq: `GET\n/\nParam1=value1&Param2=value2\n${HOSTDATE}${TAIL('host;x-amz-date')}`, signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' },
  { name: 'get-vanilla-query-order-key', method: 'GET', path: '/', query: 'Param1=value2&Param1=Value1', headers: H(), body: '', signedHeaders: 'host;x-amz-date',
    creq: `GET\n/\nParam1=Value1&Param1=value2\n${HOSTDATE}${TAIL('host;x-amz-date')}`, signature: 'eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1' },
  { name: 'get-vanilla-query-order-value', method: 'GET', path: '/', query: 'Param1=value2&Param1=value1', headers: H(), body: '', signedHeaders: 'host;x-amz-date',
    creq: `GET\n/\nParam1=value1&Param1=value2\n${HOSTDATE}${TAIL('host;x-amz-date')}`, signature: '5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694' },
  { name: 'get-vanilla-utf8-query', method: 'GET', path: '/', query: '\u1234=bar', headers: H(), body: '', signedHeaders: 'host;x-amz-date',
    creq: `GET\n/\n%E1%88%B4=bar\n${HOSTDATE}${TAIL('host;x-amz-date')}`, signature: '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04' },
  { name: 'get-unreserved', method: 'GET', path: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', query: '', headers: H(), body: '', signedHeaders: 'host;x-amz-date',
    creq: `GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\n${HOSTDATE}${TAIL('host;x-amz-date')}`, signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f' },
  { name: 'get-utf8', method: 'GET', path: '/\u1234', query: '', headers: H(), body: '', signedHeaders: 'host;x-amz-date',
    creq: `GET\n/%E1%88%B4\n\n${HOSTDATE}${TAIL('host;x-amz-date')}`, signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' },
  { name: 'get-header-value-trim', method: 'GET', path: '/', query: '', headers: H(['My-Header1', ' value1'], ['My-Header2', ' "a   b   c"']), body: '', signedHeaders: 'host;my-header1;my-header2;x-amz-date',
    creq: `GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:"a b c"\nx-amz-date:20150830T123600Z\n${TAIL('host;my-header1;my-header2;x-amz-date')}`,
    signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736' },
  { name: 'get-header-key-duplicate', method: 'GET', path: '/', query: '', headers: H(['My-Header1', 'value2'], ['My-Header1', 'value2'], ['My-Header1', 'value1']), body: '', signedHeaders: 'host;my-header1;x-amz-date',
    creq: `GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n${TAIL('host;my-header1;x-amz-date')}`,
    signature: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea' },
  { name: 'post-header-value-case', method: 'POST', path: '/', query: '', headers: H(['My-Header1', 'VALUE1']), body: '', signedHeaders: 'host;my-header1;x-amz-date',
    creq: `POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n${TAIL('host;my-header1;x-amz-date')}`,
    signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d' },
  { name: 'post-x-www-form-urlencoded (signing content-type;host;x-amz-date)', method: 'POST', path: '/', query: '',
    headers: [['Content-Type', 'application/x-www-form-urlencoded'], ['Host', 'example.amazonaws.com'], ['X-Amz-Date', DATE], ['Content-Length', '13']], body: 'Param1=value1', signedHeaders: 'content-type;host;x-amz-date',
    creq: `POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n${HOSTDATE}${TAIL('content-type;host;x-amz-date', '9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e')}`,
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a' },
];

const SUITE_CREDENTIALS = new StaticCredentials([
  { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', principal: rootPrincipal('000000000000') },
]);
const SUITE_NOW = new Date('2015-08-30T12:36:00Z');

function suiteView(v: SuiteVector, signature = v.signature): SignedRequestView {
  const authz = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${v.signedHeaders}, Signature=${signature}`;
  return { method: v.method, rawPath: v.path, rawQuery: v.query, headers: [...v.headers, ['Authorization', authz]] };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('SigV4 against the AWS test suite', () => {
  for (const v of SUITE) {
    it(`${v.name}: canonical request and signature`, () => {
      const view = suiteView(v);
      const sig = parseSignature(view)!;
      assert.equal(canonicalRequest(view, sig, sha256(v.body)), v.creq);
      const verified = verifySignature(view, sig, SUITE_CREDENTIALS, { now: SUITE_NOW, bodySha256: sha256(v.body) });
      assert.equal(verified.credential.accessKeyId, 'AKIDEXAMPLE');
    });
    it(`${v.name}: a changed signature, query or header value does not verify`, () => {
      const flipped = (v.signature[0] === '0' ? '1' : '0') + v.signature.slice(1);
      const bad: SignedRequestView[] = [
        suiteView(v, flipped),
        { ...suiteView(v), rawQuery: v.query === '' ? 'x=1' : v.query + 'x' },
        { ...suiteView(v), method: v.method === 'GET' ? 'POST' : 'GET' },
      ];
      for (const view of bad) {
        assert.throws(
          () => verifySignature(view, parseSignature(view)!, SUITE_CREDENTIALS, { now: SUITE_NOW, bodySha256: sha256(v.body) }),
          (err: unknown) => err instanceof AuthenticationError && err.kind === 'SignatureMismatch',
        );
      }
    });
  }
});

describe('SigV4: malformed given signatures', () => {
  const v = SUITE[0]!;
  const view = suiteView(v);
  const good = parseSignature(view)!;
  const verify = (signature: string): unknown => verifySignature(view, { ...good, signature }, SUITE_CREDENTIALS, { now: SUITE_NOW, bodySha256: sha256(v.body) });
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['one byte short', v.signature.slice(0, 62)],
    ['odd length, a nibble short', v.signature.slice(0, 63)],
    ['one byte too many (33 bytes: a 32-byte decode buffer would drop it and accept)', v.signature + '00'],
    ['the signature twice', v.signature + v.signature],
    ['non-hex first pair', 'zz' + v.signature.slice(2)],
    ['non-hex last pair', v.signature.slice(0, 62) + 'zz'],
    ['non-hex in the middle', v.signature.slice(0, 30) + 'g' + v.signature.slice(31)],
    ['much too long', 'ab'.repeat(4096)],
    ['the right signature and one non-hex character (the hex decode stops before it)', v.signature + 'z'],
    ['the right signature and a non-hex pair', v.signature + 'zz'],
    ['the right signature and a space', v.signature + ' '],
  ];
  for (const [label, signature] of bad) {
    it(`${label}: SignatureMismatch, and the right signature still verifies after it`, () => {
      assert.throws(() => verify(signature), (err: unknown) => err instanceof AuthenticationError && err.kind === 'SignatureMismatch');
      assert.doesNotThrow(() => verify(v.signature));
      assert.doesNotThrow(() => verify(v.signature.toUpperCase()));
    });
  }
});

describe('SigV4 at the edge (KMS JSON protocol)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });
  const listKeys = { target: 'TrentService.ListKeys', body: '{}' };

  it('a correctly signed raw request is accepted (the helper is sound)', async () => {
    const r = await rawKmsRequest(t.endpoint, listKeys);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('signed requests pipelined in one write, one over the body limit, are each answered in order on one connection', async () => {
    const signed: Array<{ headers: Record<string, string>; body: string }> = [];
    const capture = (r: { headers: Record<string, string>; body: string | Buffer }): void => void signed.push({ headers: { ...r.headers }, body: r.body.toString() });
    assert.equal((await rawKmsRequest(t.endpoint, { ...listKeys, afterSigning: capture })).status, 200);
    assert.equal((await rawKmsRequest(t.endpoint, { target: 'TrentService.ListAliases', body: '{"Limit":5}', afterSigning: capture })).status, 200);
    const [keys, aliases] = signed as [(typeof signed)[0], (typeof signed)[0]];
    const wire = (r: { headers: Record<string, string>; body: string }, connection = 'keep-alive'): string =>
      `POST / HTTP/1.1\r\n${Object.entries(r.headers).filter(([k]) => k.toLowerCase() !== 'content-length').map(([k, v]) => `${k}: ${v}\r\n`).join('')}connection: ${connection}\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`;
    // Signed and over KMS's 128 KiB: refused by its length before the signature is checked; its body must be skipped.
    const tooLarge = wire({ headers: keys.headers, body: `{"Pad":"${'p'.repeat(200_000)}"}` });
    const url = new URL(t.endpoint);
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const socket = connect(Number(url.port), url.hostname, () => socket.write(wire(keys) + tooLarge + wire(aliases) + wire(keys, 'close')));
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
    assert.deepEqual([...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), ['200', '400', '200', '200'], answer.slice(0, 2000));
    assert.deepEqual([...answer.matchAll(/"__type":"([^"]+)"/g)].map((m) => m[1]), ['ValidationException']);
    assert.equal([...answer.matchAll(/"Keys":\[/g)].length, 2);
    assert.equal([...answer.matchAll(/"Aliases":\[/g)].length, 1);
  });

  it('no Authorization → MissingAuthenticationTokenException', async () => {
    const r = await rawKmsRequest(t.endpoint, { ...listKeys, unsigned: true });
    assert.equal(r.status, 400);
    assert.equal(r.json.__type, 'MissingAuthenticationTokenException');
  });

  it('malformed Authorization headers → IncompleteSignatureException', async () => {
    const broken: Array<(auth: string) => string> = [
      () => 'AWS4-HMAC-SHA256 garbage',
      (a) => a.replace(/Signature=[0-9a-f]+/, ''),
      (a) => a.replace(/Credential=[^,]+/, 'Credential=AKIA/short'),
      (a) => a.replace(/SignedHeaders=[^,]+,/, ''),
      (a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512'),
      () => 'Basic dXNlcjpwYXNz',
    ];
    for (const change of broken) {
      const r = await rawKmsRequest(t.endpoint, { ...listKeys, afterSigning: (req) => void (req.headers.authorization = change(req.headers.authorization!)) });
      assert.equal(r.status, 400);
      assert.equal(r.json.__type, 'IncompleteSignatureException', change('AWS4-HMAC-SHA256 Credential=x, SignedHeaders=y, Signature=00'));
    }
  });

  it('a missing X-Amz-Date (and no Date) → IncompleteSignatureException', async () => {
    const r = await rawKmsRequest(t.endpoint, { ...listKeys, afterSigning: (req) => void delete req.headers['x-amz-date'] });
    assert.equal(r.json.__type, 'IncompleteSignatureException');
  });

  it('an unknown access key → UnrecognizedClientException', async () => {
    const r = await rawKmsRequest(t.endpoint, { ...listKeys, accessKeyId: 'AKIANOTKNOWN00000000' });
    assert.equal(r.status, 400);
    assert.equal(r.json.__type, 'UnrecognizedClientException');
  });

  it('the wrong secret → InvalidSignatureException (and the SDK names it so)', async () => {
    const r = await rawKmsRequest(t.endpoint, { ...listKeys, secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret00' });
    assert.equal(r.status, 400);
    assert.equal(r.json.__type, 'InvalidSignatureException');
    assert.ok(!String(r.json.message).match(/[0-9a-f]{64}/), 'no signature in the message');
    const sdk = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: 'nope' }, maxAttempts: 1 });
    try {
      await assert.rejects(sdk.send(new ListKeysCommand({})), (err: Error) => err.name === 'InvalidSignatureException');
    } finally {
      sdk.destroy();
    }
  });

  for (const [label, offsetMs, word] of [
    ['16 minutes in the past', -16 * 60_000, 'earlier'],
    ['16 minutes in the future', 16 * 60_000, 'later'],
  ] as const) {
    it(`x-amz-date ${label} → InvalidSignatureException "Signature expired"`, async () => {
      const r = await rawKmsRequest(t.endpoint, { ...listKeys, signingDate: new Date(t.clock.now().getTime() + offsetMs) });
      assert.equal(r.status, 400);
      assert.equal(r.json.__type, 'InvalidSignatureException');
      assert.match(String(r.json.message), /^Signature expired: \d{8}T\d{6}Z is now (earlier|later) than/);
      assert.ok(String(r.json.message).includes(word));
    });
  }

  it('14 minutes of skew either way is accepted', async () => {
    for (const offset of [-14 * 60_000, 14 * 60_000]) {
      const r = await rawKmsRequest(t.endpoint, { ...listKeys, signingDate: new Date(t.clock.now().getTime() + offset) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
  });

  it('a body changed after signing → InvalidSignatureException', async () => {
    const body = JSON.stringify({ Limit: 5 });
    const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.ListKeys', body, afterSigning: (req) => void (req.body = JSON.stringify({ Limit: 6 })) });
    assert.equal(r.status, 400);
    assert.equal(r.json.__type, 'InvalidSignatureException');
  });

  it('a body changed after signing with a signed x-amz-content-sha256 → InvalidSignatureException', async () => {
    const body = JSON.stringify({ Limit: 5 });
    const headers = { 'x-amz-content-sha256': sha256(body) };
    const ok = await rawKmsRequest(t.endpoint, { target: 'TrentService.ListKeys', body, headers });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.ListKeys', body, headers, afterSigning: (req) => void (req.body = JSON.stringify({ Limit: 6 })) });
    assert.equal(r.json.__type, 'InvalidSignatureException');
  });

  it('a changed X-Amz-Target after signing → InvalidSignatureException', async () => {
    const r = await rawKmsRequest(t.endpoint, { ...listKeys, afterSigning: (req) => void (req.headers['x-amz-target'] = 'TrentService.CreateKey') });
    assert.equal(r.json.__type, 'InvalidSignatureException');
  });
});

describe('signature comparison', () => {
  it('verify.ts compares signatures with crypto.timingSafeEqual after a length check, never with ===', () => {
    const src = readFileSync(new URL('../../src/iam/sigv4/verify.ts', import.meta.url), 'utf8');
    assert.match(src, /import \{[^}]*\btimingSafeEqual\b[^}]*\} from 'node:crypto'/);
    assert.match(src, /given\.length !== expected\.length \|\| !timingSafeEqual\(given, expected\)/);
    assert.doesNotMatch(src, /(signature|expected|given)\s*[!=]==\s*(sig\.signature|expected|given)/);
    assert.doesNotMatch(src, /\.equals\(expected\)|expected\.toString\('hex'\)\s*[!=]==/);
  });
});
