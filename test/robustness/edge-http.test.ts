import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { NodeSha256 } from '../helpers/signed-request.js';
import { robustSuite } from './harness.js';
import { s3Call } from './s3-call.js';

/**
 * Requests malformed at the HTTP level or unsigned, sent as raw bytes to the single edge
 * endpoint: each is answered (by node's parser or in the AWS shape of the surface it
 * names), nothing is stored, and the server keeps serving.
 */
describe('Edge: malformed HTTP and unsigned requests', () => {
  let host = '';
  const t = robustSuite(
    {},
    {
      async setup() {
        host = new URL(t.endpoint).host;
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob')).status, 200);
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob/a', { body: 'a' })).status, 200);
      },
      async check() {
        assert.equal((await s3Call(t.endpoint, 'GET', '/rob/a')).text, 'a');
      },
    },
  );

  /** Writes `text` on a fresh connection and collects the answer until the server closes it. */
  function raw(text: string): Promise<string> {
    const url = new URL(t.endpoint);
    return new Promise((resolve, reject) => {
      let got = '';
      const socket = connect(Number(url.port), url.hostname, () => socket.write(text));
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
  }

  /** `status code` of a raw answer: the status line's code and the AWS error code in its body, if any. */
  function answer(text: string): string {
    const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 'none';
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? /"__type":"([^"]*)"/.exec(text)?.[1] ?? '';
    return `${status} ${code}`.trim();
  }

  it('HTTP that node refuses (broken chunked framing, no Host) → 400 before any of our code', async () => {
    assert.equal(answer(await raw(`PUT /rob/b HTTP/1.1\r\nhost: ${host}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`)), '400');
    assert.equal(answer(await raw('GET /rob/a HTTP/1.1\r\nconnection: close\r\n\r\n')), '400');
    assert.equal((await s3Call(t.endpoint, 'HEAD', '/rob/b')).status, 404);
  });

  it('methods and request targets S3 does not serve → MethodNotAllowed; internal paths do not traverse', async () => {
    for (const method of ['PATCH', 'PROPFIND']) assert.equal(`${(await s3Call(t.endpoint, method, '/rob/a')).status}`, '405', method);
    // OPTIONS is S3's CORS preflight: without an Origin header it is S3's 400 BadRequest, not 405 (test/s3/cors.test.ts).
    assert.equal(`${(await s3Call(t.endpoint, 'OPTIONS', '/rob/a')).status}`, '400');
    assert.equal(answer(await raw(`OPTIONS * HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`)), '400 BadRequest');
    assert.equal(answer(await raw(`GET /_cipherlake/../rob/a HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`)), '404');
    assert.equal(answer(await raw(`GET /_cipherlake/nothing HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`)), '404');
    assert.equal(answer(await raw(`GET http://elsewhere.example/rob/a HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`)), '403 AccessDenied');
  });

  it('a client gone mid-body on KMS, CloudTrail, EC2, IAM and STS is no server error', async () => {
    const url = new URL(t.endpoint);
    const requests: Array<[string, Record<string, string>, string]> = [
      ['kms', { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, `{"Limit":10,"Pad":"${'p'.repeat(4000)}"}`],
      ['cloudtrail', { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents' }, `{"Pad":"${'p'.repeat(4000)}"}`],
      ['ec2', { 'content-type': 'application/x-www-form-urlencoded' }, `Action=DescribeVolumes&Version=2016-11-15&Pad=${'p'.repeat(4000)}`],
      ['iam', { 'content-type': 'application/x-www-form-urlencoded' }, `Action=ListUsers&Version=2010-05-08&Pad=${'p'.repeat(4000)}`],
      ['sts', { 'content-type': 'application/x-www-form-urlencoded' }, `Action=GetCallerIdentity&Version=2011-06-15&Pad=${'p'.repeat(4000)}`],
    ];
    for (const [service, extra, body] of requests) {
      const signer = new SignatureV4({ credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }, region: TEST_REGION, service, sha256: NodeSha256 });
      const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host, ...extra }, body });
      const from = t.rawLog.length;
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          const head = ['POST / HTTP/1.1', ...Object.entries(signed.headers as Record<string, string>).map(([k, v]) => `${k}: ${v}`), `content-length: ${body.length}`, '', ''].join('\r\n');
          socket.end(`${head}${body.slice(0, 1000)}`, () => {
            socket.destroy();
            resolve();
          });
        });
        socket.on('error', reject);
      });
      // The abort reaches the server asynchronously: give it a few turns, then look at what it logged.
      for (let i = 0; i < 10; i++) await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(t.logs().slice(from).filter((l) => l.level >= 50).map((l) => `${l.err?.type}: ${l.msg}`), [], `${service}: a client abort is not logged as a server error`);
    }
  });

  it('unsigned or half-signed requests → each surface\'s authentication error, nothing stored', async () => {
    const post = (headers: string, body: string): Promise<string> => raw(`POST / HTTP/1.1\r\nhost: ${host}\r\n${headers}content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    assert.equal(answer(await post('x-amz-target: TrentService.ListKeys\r\n', '{}')), '400 MissingAuthenticationTokenException');
    assert.equal(answer(await post('x-amz-target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents\r\n', '{}')), '400 MissingAuthenticationTokenException');
    assert.equal(answer(await post('x-amz-target: TrentService.ListKeys\r\nx-amz-target: TrentService.CreateKey\r\n', '{}')), '400 MissingAuthenticationTokenException');
    assert.equal(answer(await post('authorization: AWS4-HMAC-SHA256 Credential=x\r\nx-amz-target: TrentService.ListKeys\r\n', '{}')), '400 IncompleteSignatureException');
    assert.equal(answer(await post('content-type: application/x-www-form-urlencoded\r\n', 'Action=DescribeVolumes')), '405 MethodNotAllowed');
    assert.equal(answer(await raw(`PUT /rob/z HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 1\r\nconnection: close\r\n\r\nz`)), '403 AccessDenied');
    assert.equal(answer(await raw(`GET /rob HTTP/1.0\r\nhost: ${host}\r\n\r\n`)), '403 AccessDenied');
    assert.equal((await s3Call(t.endpoint, 'HEAD', '/rob/z')).status, 404);
  });
});
