import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { sdkRefusal } from '../helpers/sdk-outcome.js';
import { NodeSha256, rawKmsRequest } from '../helpers/signed-request.js';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { awsCli, awsEnv, run, scratch, type Scratch } from '../helpers/client-run.js';
import { presignedUrl, signedFetch } from '../s3/raw-sign.js';

/**
 * A SigV4 credential scope names a region, and AWS serves only requests signed for its own:
 * S3 answers AuthorizationHeaderMalformed (presigned: AuthorizationQueryParametersError), 400,
 * with a <Region> element and x-amz-bucket-region naming the right one; KMS answers
 * InvalidSignatureException; IAM and STS, global on AWS, take us-east-1 (and here also the
 * server's region, which is what the CLI and SDKs sign for with an endpoint URL).
 */

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

/** An IAM or STS Query request signed for `region`: the status and the error code (if any). */
async function queryFor(endpoint: string, service: 'iam' | 'sts', action: string, region: string): Promise<string> {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Action: action, Version: service === 'iam' ? '2010-05-08' : '2011-06-15' }).toString();
  const v4 = new SignatureV4({ credentials: CREDENTIALS, region, service, sha256: NodeSha256 });
  const signed = await v4.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
  const { host: _host, ...headers } = signed.headers as Record<string, string>;
  const res = await fetch(new URL('/', endpoint), { method: 'POST', headers, body });
  const text = await res.text();
  return `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}`;
}

/** The code, message and Region of an S3 XML error body. */
function s3Error(text: string): { code?: string; message?: string; region?: string } {
  const el = (name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  const out: { code?: string; message?: string; region?: string } = {};
  const code = el('Code');
  const message = el('Message');
  const region = el('Region');
  if (code !== undefined) out.code = code;
  if (message !== undefined) out.message = message.replaceAll('&apos;', "'");
  if (region !== undefined) out.region = region;
  return out;
}

describe('credential scope region: a server in us-east-1 (the default)', () => {
  let t: TestServer;
  let s: Scratch;

  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-region-');
    const s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'scoped' }));
    await s3.send(new PutObjectCommand({ Bucket: 'scoped', Key: 'k', Body: 'secret text' }));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('S3, Authorization header for eu-west-1: 400 AuthorizationHeaderMalformed with Region and x-amz-bucket-region us-east-1, nothing served', async () => {
    const res = await signedFetch(t.endpoint, { method: 'GET', path: '/scoped/k' }, { region: 'eu-west-1' });
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.deepEqual(s3Error(text), {
      code: 'AuthorizationHeaderMalformed',
      message: "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'",
      region: 'us-east-1',
    });
    assert.equal(res.headers.get('x-amz-bucket-region'), 'us-east-1');
    assert.ok(!text.includes('secret text'));
  });

  it('S3 HEAD for eu-west-1: 400 with no body, the region in x-amz-bucket-region', async () => {
    const res = await signedFetch(t.endpoint, { method: 'HEAD', path: '/scoped/k' }, { region: 'eu-west-1' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-amz-error-code'), 'AuthorizationHeaderMalformed');
    assert.equal(res.headers.get('x-amz-bucket-region'), 'us-east-1');
  });

  it('S3 PUT for eu-west-1 is refused and writes nothing', async () => {
    const res = await signedFetch(t.endpoint, { method: 'PUT', path: '/scoped/new', body: Buffer.from('x') }, { region: 'eu-west-1' });
    assert.equal(s3Error(await res.text()).code, 'AuthorizationHeaderMalformed');
    const head = await sdkRefusal(t.s3().send(new HeadObjectCommand({ Bucket: 'scoped', Key: 'new' })));
    assert.deepEqual([head.status, head.code], [404, 'NotFound']);
  });

  it('S3 presigned URL for eu-west-1: 400 AuthorizationQueryParametersError with Region us-east-1', async () => {
    const res = await fetch(await presignedUrl(t.endpoint, { method: 'GET', path: '/scoped/k' }, 300, new Date(), 'eu-west-1'));
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.deepEqual(s3Error(text), {
      code: 'AuthorizationQueryParametersError',
      message: "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; expecting 'us-east-1'",
      region: 'us-east-1',
    });
    assert.equal(res.headers.get('x-amz-bucket-region'), 'us-east-1');
  });

  it('S3 signed and presigned for us-east-1 are served as before', async () => {
    const res = await signedFetch(t.endpoint, { method: 'GET', path: '/scoped/k' }, { region: 'us-east-1' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'secret text');
    const pre = await fetch(await presignedUrl(t.endpoint, { method: 'GET', path: '/scoped/k' }, 300, new Date(), 'us-east-1'));
    assert.equal(pre.status, 200);
    assert.equal(await pre.text(), 'secret text');
  });

  it('KMS signed for eu-west-1: 400 InvalidSignatureException, and CreateKey creates nothing', async () => {
    const before = (await t.kms().send(new ListKeysCommand({}))).Keys?.length ?? 0;
    const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.CreateKey', body: '{}', region: 'eu-west-1' });
    assert.equal(r.status, 400);
    assert.equal(r.json.__type, 'InvalidSignatureException');
    assert.equal(r.json.message, "Credential should be scoped to a valid region, not 'eu-west-1'. ");
    assert.equal((await t.kms().send(new ListKeysCommand({}))).Keys?.length ?? 0, before);
    const ok = await rawKmsRequest(t.endpoint, { target: 'TrentService.ListKeys', body: '{}', region: 'us-east-1' });
    assert.equal(ok.status, 200);
  });

  it('IAM and STS: us-east-1 is served, another region is SignatureDoesNotMatch', async () => {
    assert.equal(await queryFor(t.endpoint, 'iam', 'ListUsers', 'us-east-1'), '200 ');
    assert.equal(await queryFor(t.endpoint, 'sts', 'GetCallerIdentity', 'us-east-1'), '200 ');
    assert.equal(await queryFor(t.endpoint, 'iam', 'ListUsers', 'eu-west-1'), '403 SignatureDoesNotMatch');
    assert.equal(await queryFor(t.endpoint, 'sts', 'GetCallerIdentity', 'eu-west-1'), '403 SignatureDoesNotMatch');
  });

  it('a refused request is audited with its error code, like other authentication failures', async () => {
    await rawKmsRequest(t.endpoint, { target: 'TrentService.DescribeKey', body: '{"KeyId":"alias/none"}', region: 'ap-south-1' });
    await signedFetch(t.endpoint, { method: 'GET', path: '/scoped/k' }, { region: 'ap-south-1' });
    await t.server.audit.flush();
    const { records } = await t.server.auditStore.lookup({ errorsOnly: true, limit: 200 });
    const kms = records.map((r) => r.event).find((e) => e.eventName === 'DescribeKey' && e.errorCode === 'InvalidSignatureException');
    assert.ok(kms, 'the refused KMS call is recorded');
    assert.match(kms.errorMessage ?? '', /not 'ap-south-1'/);
    const s3 = records.map((r) => r.event).find((e) => e.errorCode === 'AuthorizationHeaderMalformed' && /ap-south-1/.test(e.errorMessage ?? ''));
    assert.ok(s3, 'the refused S3 call is recorded');
    assert.equal(s3.eventName, 'GetObject');
  });

  it('real clients: boto3 configured for eu-west-1 follows the Region to us-east-1; the AWS CLI for eu-west-1 gets InvalidSignatureException from KMS', async () => {
    const west = awsEnv(s, { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1' });
    const py = [
      'import boto3, os',
      `c = boto3.client("s3", endpoint_url=${JSON.stringify(t.endpoint)}, config=boto3.session.Config(s3={"addressing_style": "path"}))`,
      'print(c.get_object(Bucket="scoped", Key="k")["Body"].read().decode())',
    ].join('\n');
    const got = await run('python3', ['-c', py], west, s.dir);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.trim(), 'secret text');
    const cli = await run('aws', ['--endpoint-url', t.endpoint, '--output', 'json', 'kms', 'list-keys'], west, s.dir);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /InvalidSignatureException.*Credential should be scoped to a valid region/);
    const east = await awsCli(t.endpoint, s.dir, ['kms', 'list-keys']);
    assert.equal(east.code, 0, east.stderr);
  });
});

describe('credential scope region: a server in eu-west-1', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ region: 'eu-west-1' });
  });
  after(async () => {
    await t.close();
  });

  it('KMS: the SDK for eu-west-1 is served; for us-east-1 it gets InvalidSignatureException', async () => {
    const west = new KMSClient({ endpoint: t.endpoint, region: 'eu-west-1', credentials: CREDENTIALS, maxAttempts: 1 });
    const east = new KMSClient({ endpoint: t.endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    try {
      assert.ok((await west.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId);
      const err = await sdkRefusal(east.send(new ListKeysCommand({})));
      assert.deepEqual([err.code, err.status], ['InvalidSignatureException', 400]);
    } finally {
      west.destroy();
      east.destroy();
    }
  });

  it('S3: the SDK for us-east-1 gets AuthorizationHeaderMalformed expecting eu-west-1', async () => {
    const east = new S3Client({ endpoint: t.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
    try {
      const err = await sdkRefusal(east.send(new CreateBucketCommand({ Bucket: 'east' })));
      assert.deepEqual([err.code, err.status], ['AuthorizationHeaderMalformed', 400]);
      assert.equal(err.message, "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'");
      // Nothing was created: signed for the server's region, the bucket is not there.
      const west = new S3Client({ endpoint: t.endpoint, region: 'eu-west-1', credentials: CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
      try {
        const head = await sdkRefusal(west.send(new HeadBucketCommand({ Bucket: 'east' })));
        assert.deepEqual([head.status, head.code], [404, 'NotFound']);
      } finally {
        west.destroy();
      }
    } finally {
      east.destroy();
    }
  });

  it('IAM and STS take both eu-west-1 and the global us-east-1, not a third region', async () => {
    assert.equal(await queryFor(t.endpoint, 'iam', 'ListUsers', 'eu-west-1'), '200 ');
    assert.equal(await queryFor(t.endpoint, 'iam', 'ListUsers', 'us-east-1'), '200 ');
    assert.equal(await queryFor(t.endpoint, 'sts', 'GetCallerIdentity', 'eu-west-1'), '200 ');
    assert.equal(await queryFor(t.endpoint, 'sts', 'GetCallerIdentity', 'us-east-1'), '200 ');
    assert.equal(await queryFor(t.endpoint, 'iam', 'ListUsers', 'us-west-2'), '403 SignatureDoesNotMatch');
  });
});
