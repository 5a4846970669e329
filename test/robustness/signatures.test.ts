import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { errorCode as queryErrorCode, queryRequest } from '../iam/query-client.js';
import { presignedUrl } from '../s3/raw-sign.js';
import { assertNoSecret, robustSuite } from './harness.js';
import { s3Call } from './s3-call.js';

/** `status code` of a fetch answer with an S3 XML error body. */
async function s3Code(res: Response): Promise<string> {
  const text = await res.text();
  return `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}`;
}

/**
 * Malformed and wrong signatures on every surface: S3 presigned query parameters and
 * Authorization headers, and a wrong secret on CloudTrail, IAM and STS. Each is refused
 * with the surface's AWS code, the secret is never echoed, and the server keeps serving.
 */
describe('Signatures: malformed and wrong', () => {
  let good: string;
  const t = robustSuite(
    {},
    {
      async setup() {
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob')).status, 200);
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob/a', { body: 'a' })).status, 200);
        good = await presignedUrl(t.endpoint, { method: 'GET', path: '/rob/a' }, 300);
      },
      async check() {
        const res = await fetch(good);
        assert.equal(`${res.status} ${await res.text()}`, '200 a', 'the untouched presigned URL still works');
      },
    },
  );

  it('S3 presigned URLs with malformed parameters → AuthorizationHeaderMalformed; altered ones → SignatureDoesNotMatch', async () => {
    const changed = (name: string, value: string | null): string => {
      const u = new URL(good);
      if (value === null) u.searchParams.delete(name);
      else u.searchParams.set(name, value);
      return u.toString();
    };
    const malformed: Array<[string, string | null]> = [
      ['X-Amz-Expires', 'abc'],
      ['X-Amz-Expires', '-1'],
      ['X-Amz-Expires', '604801'],
      ['X-Amz-Date', 'garbage'],
      ['X-Amz-Credential', 'garbage'],
      ['X-Amz-Credential', `${TEST_ACCESS_KEY_ID}/2020/us-east-1/s3`],
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA1'],
      ['X-Amz-Signature', null],
      ['X-Amz-SignedHeaders', null],
      ['X-Amz-SignedHeaders', ''],
      ['X-Amz-Credential', null],
    ];
    for (const [name, value] of malformed) assert.equal(await s3Code(await fetch(changed(name, value))), '400 AuthorizationHeaderMalformed', `${name}=${value}`);
    const altered: Array<[string, string]> = [
      ['X-Amz-Expires', '1e3'],
      ['X-Amz-Signature', 'zz'],
      ['X-Amz-Signature', '0'.repeat(64)],
    ];
    for (const [name, value] of altered) assert.equal(await s3Code(await fetch(changed(name, value))), '403 SignatureDoesNotMatch', `${name}=${value}`);
    // The root's keys are long-term: a token added to the URL is refused as a token, before the signature.
    assert.equal(await s3Code(await fetch(changed('X-Amz-Security-Token', 'junk'))), '400 InvalidToken', 'X-Amz-Security-Token=junk');
  });

  it('S3 Authorization headers that are malformed → AuthorizationHeaderMalformed (400), too large → 431', async () => {
    const send = (authorization: string): Promise<Response> =>
      fetch(`${t.endpoint}/rob/a`, { headers: { authorization, 'x-amz-date': '20200101T000000Z', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    for (const auth of ['AWS4-HMAC-SHA256', `AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY_ID}/20200101/us-east-1/s3/aws4_request`, 'AWS4-HMAC-SHA256 Credential=/,,,,', 'Bearer abc']) {
      assert.equal(await s3Code(await send(auth)), '400 AuthorizationHeaderMalformed', auth);
    }
    const huge = await send(`AWS4-HMAC-SHA256 ${'Credential='.repeat(2000)}`);
    assert.equal(huge.status, 431, 'node refuses headers over its limit before any of our code runs');
    await huge.text();
  });

  it('a session token signed in with long-term keys → each surface\'s invalid-token error, nothing done; an empty one is no token', async () => {
    const token = 'FwoGZXIvYXdzEXAMPLEtoken';
    const kms = await rawKmsRequest(t.endpoint, { target: 'TrentService.CreateKey', body: '{}', headers: { 'x-amz-security-token': token } });
    assert.equal(`${kms.status} ${kms.json.__type}`, '400 UnrecognizedClientException', 'KMS');
    const put = await s3Call(t.endpoint, 'PUT', '/rob/with-token', { body: 'x', headers: { 'x-amz-security-token': token } });
    assert.equal(`${put.status} ${put.code}`, '400 InvalidToken', 'S3');
    assert.equal((await s3Call(t.endpoint, 'HEAD', '/rob/with-token')).status, 404, 'S3: nothing written');
    for (const service of ['iam', 'sts'] as const) {
      const r = await queryRequest(t.endpoint, service, { Action: service === 'iam' ? 'ListUsers' : 'GetCallerIdentity' }, { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY, sessionToken: token });
      assert.equal(`${r.status} ${queryErrorCode(r)}`, '403 InvalidClientTokenId', service);
    }
    assert.equal((await s3Call(t.endpoint, 'GET', '/rob/a', { headers: { 'x-amz-security-token': '' } })).status, 200, 'an empty token header');
  });

  it('a wrong secret on CloudTrail, IAM and STS → their signature errors, never echoing either secret', async () => {
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    const ct = await rawKmsRequest(t.endpoint, { target: 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents', body: '{}', service: 'cloudtrail', secretAccessKey: wrong });
    assert.equal(`${ct.status} ${ct.json.__type}`, '400 InvalidSignatureException');
    const texts = [JSON.stringify(ct.json)];
    for (const service of ['iam', 'sts'] as const) {
      const r = await queryRequest(t.endpoint, service, { Action: service === 'iam' ? 'ListUsers' : 'GetCallerIdentity' }, { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: wrong });
      assert.equal(`${r.status} ${queryErrorCode(r)}`, '403 SignatureDoesNotMatch', service);
      texts.push(r.text);
    }
    // A wrong secret only signs, so the server never sees it there; it is sent as S3's session token so an echo could show.
    const s3 = await s3Call(t.endpoint, 'GET', '/rob/a', { headers: { 'x-amz-security-token': wrong } });
    assert.equal(`${s3.status} ${s3.code}`, '400 InvalidToken', 'S3 with the wrong secret as its session token');
    texts.push(s3.text);
    for (const text of texts) assertNoSecret(text, [TEST_SECRET_ACCESS_KEY, wrong], 'a signature error body');
    assertNoSecret(t.rawLog.join('\n'), [TEST_SECRET_ACCESS_KEY, wrong], 'the server log');
  });

  it('a JSON 1.1 request whose Authorization cannot be parsed is answered by its service and audited, like every other refusal', async () => {
    const cases: Array<[string, string, string]> = [
      ['TrentService.ListKeys', 'garbage', 'kms.amazonaws.com'],
      ['TrentService.ListKeys', `AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY_ID}/20200101/us-east-1/kms/aws4_request`, 'kms.amazonaws.com'],
      ['com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents', 'Bearer abc', 'cloudtrail.amazonaws.com'],
    ];
    for (const [target, authorization, source] of cases) {
      const res = await fetch(`${t.endpoint}/`, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, authorization }, body: '{}' });
      assert.equal(`${res.status} ${((await res.json()) as { __type?: string }).__type}`, '400 IncompleteSignatureException', authorization);
      const requestId = res.headers.get('x-amzn-requestid');
      assert.ok(requestId !== null, 'the answer names its request id');
      const eventName = target.slice(target.lastIndexOf('.') + 1);
      const { records } = await t.server.auditStore.lookup({ eventName, errorsOnly: true, limit: 1000 });
      const event = records.find((r) => r.event.requestID === requestId)?.event;
      assert.ok(event !== undefined, `${authorization}: the refused request has its audit record`);
      assert.equal(`${event.eventSource} ${event.errorCode}`, `${source} IncompleteSignatureException`);
    }
  });

  it('an IAM, STS or EC2 request whose signature cannot be parsed is refused in that service\'s error document and audited as its event', async () => {
    const form = 'application/x-www-form-urlencoded; charset=utf-8';
    const credential = (service: string): string => `AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY_ID}/20200101/us-east-1/${service}/aws4_request`;
    const queryDoc = (ns: string): RegExp => new RegExp(`^<\\?xml[^>]*>\\n<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>IncompleteSignature</Code><Message>[^<]*</Message></Error><RequestId>([^<]+)</RequestId></ErrorResponse>$`);
    const ec2Doc = /^<\?xml[^>]*>\n<Response><Errors><Error><Code>IncompleteSignature<\/Code><Message>[^<]*<\/Message><\/Error><\/Errors><RequestID>([^<]+)<\/RequestID><\/Response>$/;
    const iamNs = 'https://iam\\.amazonaws\\.com/doc/2010-05-08/';
    const stsNs = 'https://sts\\.amazonaws\\.com/doc/2011-06-15/';
    const cases: Array<[string, string, RequestInit, RegExp, string]> = [
      ['IAM: garbage Authorization, Action and Version in the form body', '/', { method: 'POST', headers: { 'content-type': form, authorization: 'garbage' }, body: 'Action=ListUsers&Version=2010-05-08' }, queryDoc(iamNs), 'iam.amazonaws.com'],
      ['IAM: a Credential scope naming iam, no SignedHeaders', '/', { method: 'POST', headers: { 'content-type': form, authorization: credential('iam'), 'x-amz-date': '20200101T000000Z' }, body: 'Action=ListUsers' }, queryDoc(iamNs), 'iam.amazonaws.com'],
      ['STS: no date header', '/', { method: 'POST', headers: { 'content-type': form, authorization: `${credential('sts')}, SignedHeaders=host, Signature=00` }, body: 'Action=GetCallerIdentity&Version=2011-06-15' }, queryDoc(stsNs), 'sts.amazonaws.com'],
      ['EC2: a Credential scope naming ec2', '/', { method: 'POST', headers: { 'content-type': form, authorization: credential('ec2') }, body: 'Action=DescribeVolumes&Version=2016-11-15' }, ec2Doc, 'ec2.amazonaws.com'],
      ['EC2: Action and Version in the URL, garbage Authorization', '/?Action=DescribeVolumes&Version=2016-11-15', { headers: { authorization: 'Bearer abc' } }, ec2Doc, 'ec2.amazonaws.com'],
      ['EC2: a malformed presigned URL', '/?Action=DescribeVolumes&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=garbage', {}, ec2Doc, 'ec2.amazonaws.com'],
    ];
    for (const [what, path, init, doc, source] of cases) {
      const res = await fetch(`${t.endpoint}${path}`, init);
      const text = await res.text();
      assert.equal(res.status, 400, what);
      const requestId = doc.exec(text)?.[1];
      assert.ok(requestId !== undefined, `${what}: the service's own error document, got ${text.slice(0, 200)}`);
      const { records } = await t.server.auditStore.lookup({ eventSource: source, errorsOnly: true, limit: 1000 });
      const event = records.find((r) => r.event.requestID === requestId)?.event;
      assert.equal(event?.errorCode, 'IncompleteSignature', `${what}: audited as a ${source} event`);
    }
    // Nothing names IAM, STS or EC2: S3 still answers, in its shape.
    const s3 = await fetch(`${t.endpoint}/`, { method: 'POST', headers: { 'content-type': form, authorization: 'garbage' }, body: 'Action=ListUsers' });
    assert.equal(await s3Code(s3), '400 AuthorizationHeaderMalformed', 'a form without a known Version');
    const s3Scope = await fetch(`${t.endpoint}/rob/a`, { headers: { authorization: credential('s3'), 'x-amz-date': '20200101T000000Z' } });
    assert.equal(await s3Code(s3Scope), '400 AuthorizationHeaderMalformed', 'a Credential scope naming s3');
  });
});
