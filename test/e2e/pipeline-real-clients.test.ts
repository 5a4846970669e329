import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from '../helpers/files.js';
import { RealTimeClock, startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, run, runOk, runPythonJson, scratch, type Scratch } from '../helpers/client-run.js';

const SCRIPT = fileURLToPath(new URL('./pipeline-real-clients.py', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const ACCOUNT = '000000000000';
const SESSION_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/pipeline/train-run-1`;

/** One row of the role session's trail, as the .py's `trail` step reduces each CloudTrail event. */
interface TrailRow {
  readonly name: string;
  readonly source: string;
  readonly error: string | null;
  readonly invokedBy: string | null;
  readonly arn: string | null;
  readonly bucket: string | null;
  readonly ip: string | null;
  /** 'boto3' for boto3's User-Agent, else the record's userAgent. */
  readonly agent: string | null;
}

/**
 * The reference scenario end to end with unmodified clients (boto3, the AWS CLI): an admin sets
 * up two KMS keys usable only by the pipeline role, an SSE-KMS data lake whose bucket policy
 * requires the SSE-KMS header and TLS, a models bucket, the role and the user trusted to assume
 * it; the admin uploads PII over HTTPS; the pipeline reads it and writes models through the role;
 * the user without the role gets nothing; the audit trail is intact, records every access of the
 * session (with the KMS calls S3 made for it) and holds no plaintext.
 * The steps run in order and share state (a JSON file in the scratch directory).
 */
describe('the training pipeline scenario with boto3 and the AWS CLI', () => {
  let t: TestServer;
  let s: Scratch;
  let caFile: string;
  let env: Record<string, string>;
  // A distinctive PII line: its bytes must never show up in audit storage.
  const pii = `name,ssn\nAda Lovelace,078-05-${randomBytes(6).toString('hex')}\n`;

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } }, undefined, new RealTimeClock());
    s = scratch('cipherlake-e2e-pipeline-');
    caFile = join(s.dir, 'ca.pem');
    writeFileSync(caFile, readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt')));
    env = awsEnv(s, { ENDPOINT: t.httpsEndpoint!, PLAIN: t.endpoint, CA_FILE: caFile, STATE: join(s.dir, 'state.json'), PII: pii });
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  const step = (name: string): Promise<Record<string, unknown>> => runPythonJson(SCRIPT, [name], env, s.dir);

  let dataKey = '';

  it('admin (root credentials, over HTTPS): alias/pii and alias/models for the pipeline role only, the lake and models buckets, the role and its user', async () => {
    const out = await step('setup');
    assert.equal(out.keys, true, 'two distinct keys');
    assert.deepEqual(out.lakeDefault, ['aws:kms', 'alias/pii', true]);
    dataKey = String(out.dataKey);
    assert.match(dataKey, /^[0-9a-f]{64}$/);
  });

  it('admin uploads PII over HTTPS with the AWS CLI (--ca-bundle) and boto3 (verify=), under alias/pii with the bucket key', async () => {
    const body = join(s.dir, 'customers.csv');
    writeFileSync(body, pii);
    const cli = JSON.parse(await runOk('aws', ['--endpoint-url', t.httpsEndpoint!, '--ca-bundle', caFile, '--output', 'json', 's3api', 'put-object',
      '--bucket', 'lake', '--key', 'pii/customers.csv', '--body', body, '--server-side-encryption', 'aws:kms', '--ssekms-key-id', 'alias/pii'], env)) as Record<string, unknown>;
    assert.equal(cli.ServerSideEncryption, 'aws:kms');
    assert.match(String(cli.SSEKMSKeyId), /^arn:aws:kms:us-east-1:000000000000:key\//);
    assert.equal(cli.BucketKeyEnabled, true, 'the bucket default turns the bucket key on');
    // The CLI over plain HTTP: the bucket policy's aws:SecureTransport deny holds for the root too.
    const plain = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'head-object', '--bucket', 'lake', '--key', 'pii/customers.csv'], env);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /403/);

    const out = await step('upload');
    assert.deepEqual(out, {
      put: ['aws:kms', true, true],
      head: ['aws:kms', true],
      // PutObject documents that aws:kms without a key id means aws/s3, whatever the bucket default says.
      bare: true,
      // Over plain HTTP the root is held to the bucket's aws:SecureTransport deny...
      plainRoot: ['AccessDenied', 403],
      plainRootConfig: ['AccessDenied', 403],
      plainRootPolicy: [true, 204],
    });
  });

  it('trainer assumes the pipeline role: reads the PII over HTTPS only, writes SSE-KMS models, cannot write the lake without the SSE-KMS header, cannot use alias/pii directly', async () => {
    const out = await step('pipeline');
    assert.deepEqual(out, {
      arn: SESSION_ARN,
      caller: SESSION_ARN,
      readCli: [true, 'aws:kms', true, true],
      readBoto3: true,
      list: ['pii/customers-boto3.csv', 'pii/customers.csv'],
      // Allowed by the role policy, denied by the bucket policy's aws:SecureTransport = false.
      readPlain: ['AccessDenied', 403],
      // A presigned GET with the session's token: the PII over HTTPS, 403 over HTTP.
      presigned: [true, 403],
      model: ['aws:kms', true],
      modelDefault: ['aws:kms', true],
      modelRead: 'weights-1',
      // s3:x-amz-server-side-encryption is the request header: the bucket default does not supply it (as on S3).
      lakeNoHeader: ['AccessDenied', 403],
      lakeWithHeader: ['aws:kms', true],
      lakeSseS3: ['AccessDenied', 403],
      // The key policy allows the role only with kms:ViaService = s3.us-east-1.amazonaws.com.
      directDecrypt: ['AccessDeniedException', 400],
      directDataKey: ['AccessDeniedException', 400],
    });
  });

  it("the AWS CLI with the role session's temporary credentials: aws s3 cp of the PII over HTTPS, and nothing over HTTP", async () => {
    const state = JSON.parse(readFileSync(env.STATE!, 'utf8')) as { session: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } };
    const session = { ...env, AWS_ACCESS_KEY_ID: state.session.AccessKeyId, AWS_SECRET_ACCESS_KEY: state.session.SecretAccessKey, AWS_SESSION_TOKEN: state.session.SessionToken };
    const got = await runOk('aws', ['--endpoint-url', t.httpsEndpoint!, '--ca-bundle', caFile, 's3', 'cp', 's3://lake/pii/customers.csv', '-'], session);
    assert.equal(got, pii);
    const plain = await run('aws', ['--endpoint-url', t.endpoint, 's3', 'cp', 's3://lake/pii/customers.csv', '-'], session);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /403|Forbidden|AccessDenied/);
    assert.equal(plain.stdout, '');
    // A model artifact above the CLI's 8 MiB multipart threshold, SSE-KMS under alias/models.
    const model = join(s.dir, 'model.bin');
    const weights = randomBytes(9 * 1024 * 1024);
    writeFileSync(model, weights);
    const https = ['--endpoint-url', t.httpsEndpoint!, '--ca-bundle', caFile];
    await runOk('aws', [...https, 's3', 'cp', model, 's3://models/model-3.bin', '--sse', 'aws:kms', '--sse-kms-key-id', 'alias/models'], session);
    const head = JSON.parse(await runOk('aws', [...https, '--output', 'json', 's3api', 'head-object', '--bucket', 'models', '--key', 'model-3.bin'], session)) as Record<string, unknown>;
    assert.deepEqual([head.ServerSideEncryption, head.ContentLength], ['aws:kms', weights.length]);
    assert.match(String(head.SSEKMSKeyId), /^arn:aws:kms:us-east-1:000000000000:key\//);
    const back = join(s.dir, 'model-back.bin');
    await runOk('aws', [...https, 's3', 'cp', 's3://models/model-3.bin', back], session);
    assert.ok(readFileSync(back).equals(weights), 'the artifact reads back whole');
  });

  it('trainer without the role: every read of the lake and every use of alias/pii is denied; a reader allowed by IAM but not by the key policy gets no PII', async () => {
    const out = await step('outsider');
    assert.deepEqual(out, {
      get: ['AccessDenied', 403],
      head: ['403', 403],
      list: ['AccessDenied', 403],
      getPlain: ['AccessDenied', 403],
      decrypt: ['AccessDeniedException', 400],
      dataKey: ['AccessDeniedException', 400],
      encrypt: ['AccessDeniedException', 400],
      describe: ['AccessDeniedException', 400],
      analyst: ['AccessDenied', 403],
    });
  });

  it("CloudTrail LookupEvents (boto3) by the role session's name: its S3 calls, the KMS calls S3 made for it, and its denials; by the key's ARN: every call on alias/pii's key", async () => {
    const out = await step('trail');
    // analyst's GetObject was refused because KMS refused S3's Decrypt for it.
    assert.deepEqual((out.analyst as TrailRow[]).map((r) => [r.name, r.error, r.invokedBy]).sort(), [
      ['Decrypt', 'AccessDeniedException', 's3.amazonaws.com'],
      ['GetObject', 'AccessDenied', null],
    ]);
    // By the key's ARN: every call on alias/pii's key, also those naming it by alias (the admin's
    // Encrypt, trainer's and the session's refused calls) and the Decrypts naming no key.
    assert.deepEqual(out.byKey, [
      'CreateAlias root ok', 'CreateKey root ok',
      'Decrypt analyst AccessDeniedException', 'Decrypt root ok', 'Decrypt train-run-1 AccessDeniedException', 'Decrypt train-run-1 ok', 'Decrypt trainer AccessDeniedException',
      'DescribeKey trainer AccessDeniedException',
      'Encrypt root ok', 'Encrypt trainer AccessDeniedException',
      'GenerateDataKey root ok', 'GenerateDataKey train-run-1 AccessDeniedException', 'GenerateDataKey train-run-1 ok', 'GenerateDataKey trainer AccessDeniedException',
    ]);
    const rows = out.rows as TrailRow[];
    assert.ok(rows.every((r) => r.arn === SESSION_ARN), 'every event is the session');
    // A call S3 made for the session shows S3 as its source and agent, as CloudTrail shows a service's calls.
    for (const r of rows) {
      if (r.invokedBy !== null) assert.deepEqual([r.ip, r.agent], ['s3.amazonaws.com', 's3.amazonaws.com'], `${r.name} by S3`);
      else assert.equal(r.ip, '127.0.0.1', `${r.name} by the client`);
    }
    assert.ok(rows.some((r) => r.invokedBy === null && r.agent === 'boto3'), "the client's own calls carry boto3's agent");
    const tally: Record<string, number> = {};
    for (const r of rows) {
      const k = [r.name, r.bucket ?? '', r.error ?? 'ok', r.invokedBy ?? 'direct'].join(' ');
      tally[k] = (tally[k] ?? 0) + 1;
    }
    // Counts that are ours to decide; the AWS CLI's own (how many parts and ranged GETs it makes
    // of the 9 MiB artifact) are only required to be there.
    const exact: Record<string, number> = {
      'GetCallerIdentity  ok direct': 1,
      'ListObjects lake ok direct': 1,
      // boto3's two reads, the presigned one and the CLI's (aws s3 cp heads first); over HTTP
      // boto3's read, the presigned one and the CLI's head are refused.
      'GetObject lake ok direct': 4,
      'HeadObject lake ok direct': 1,
      'GetObject lake AccessDenied direct': 2,
      'HeadObject lake AccessDenied direct': 1,
      'PutObject models ok direct': 2,
      'PutObject lake ok direct': 1,
      'PutObject lake AccessDenied direct': 2,
      // The PII objects share one bucket key: one Decrypt for the session, then S3's cache for it.
      'Decrypt arn:aws:s3:::lake ok s3.amazonaws.com': 1,
      // The session's own bucket key for its lake PUT (the admin's is not lent to it).
      'GenerateDataKey arn:aws:s3:::lake ok s3.amazonaws.com': 1,
      'GenerateDataKey arn:aws:s3:::models/model-1.bin ok s3.amazonaws.com': 1,
      'GenerateDataKey arn:aws:s3:::models/model-2.bin ok s3.amazonaws.com': 1,
      'Decrypt arn:aws:s3:::models/model-1.bin ok s3.amazonaws.com': 1,
      'Decrypt  AccessDeniedException direct': 1,
      'GenerateDataKey  AccessDeniedException direct': 1,
    };
    const present = [
      'GetObject models ok direct', 'HeadObject models ok direct', 'CreateMultipartUpload models ok direct', 'UploadPart models ok direct', 'CompleteMultipartUpload models ok direct',
      'GenerateDataKey arn:aws:s3:::models/model-3.bin ok s3.amazonaws.com', 'Decrypt arn:aws:s3:::models/model-3.bin ok s3.amazonaws.com',
    ];
    assert.deepEqual(Object.keys(tally).sort(), [...Object.keys(exact), ...present].sort());
    for (const [k, n] of Object.entries(exact)) assert.equal(tally[k], n, k);
  });

  it("the admin deletes the role's policy: the session already issued is refused at its next request, as IAM evaluates policies per request", async () => {
    assert.deepEqual(await step('revoke'), { before: true, after: ['AccessDenied', 403], model: ['AccessDenied', 403] });
  });

  it('audit verify is intact, and no audit file holds the PII or a data key', async () => {
    await t.server.audit.flush();
    const verify = await run(process.execPath, ['--import', 'tsx', CLI, 'audit', 'verify', '--data-dir', t.dataDir], { HOME: s.dir });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(verify.stdout.trim(), 'intact');

    const files = filesUnder(t.dataDir).filter((f) => f.includes('audit'));
    const contents = files.map((f) => readFileSync(f));
    // Positive control: the search sees what records hold (the session's name).
    assert.ok(contents.some((c) => c.includes('train-run-1')), `the session name is in audit storage: ${files.join(', ')}`);
    // Also the credentials that crossed the wire: the user's secret key, the session's secret and token.
    const state = JSON.parse(readFileSync(env.STATE!, 'utf8')) as { trainer: { SecretAccessKey: string }; session: { SecretAccessKey: string; SessionToken: string } };
    const secrets = [Buffer.from(pii), Buffer.from(dataKey, 'hex'), Buffer.from(state.trainer.SecretAccessKey), Buffer.from(state.session.SecretAccessKey), Buffer.from(state.session.SessionToken)];
    for (const secret of secrets) {
      for (const form of [secret, Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex'))]) {
        for (const [i, c] of contents.entries()) assert.equal(c.indexOf(form), -1, `a secret in ${files[i]}`);
      }
    }
    // The distinctive PII line alone, in case a record cut the CSV apart.
    for (const [i, c] of contents.entries()) assert.equal(c.indexOf(pii.split('\n')[1]!), -1, `PII in ${files[i]}`);
  });
});
