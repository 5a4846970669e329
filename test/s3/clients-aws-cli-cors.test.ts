import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, run, runOk, scratch, type Scratch } from '../helpers/client-run.js';

const CONFIG = {
  CORSRules: [
    { ID: 'notebook', AllowedOrigins: ['http://localhost:8888'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 300 },
  ],
};

/**
 * The AWS CLI (v1, Debian package) and bucket CORS, as a user sets it up for a browser tool:
 * `s3api put-bucket-cors --cors-configuration file://cors.json`, `get-bucket-cors`,
 * `delete-bucket-cors`; the configuration put is then what a browser's preflight meets.
 */
describe('AWS CLI, bucket CORS', () => {
  let t: TestServer;
  let s: Scratch;
  let env: Record<string, string>;
  const aws = (...args: string[]): Promise<string> => runOk('aws', ['--endpoint-url', t.endpoint, ...args], env, s.dir);

  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-awscli-cors-');
    env = awsEnv(s);
    writeFileSync(join(s.dir, 'cors.json'), JSON.stringify(CONFIG));
    writeFileSync(join(s.dir, 'bad.json'), JSON.stringify({ CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }] }));
    await aws('s3', 'mb', 's3://cli-cors');
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('put-bucket-cors file://, get-bucket-cors answers it, a preflight meets it, delete-bucket-cors removes it', async () => {
    await aws('s3api', 'put-bucket-cors', '--bucket', 'cli-cors', '--cors-configuration', 'file://cors.json');
    assert.deepEqual(JSON.parse(await aws('s3api', 'get-bucket-cors', '--bucket', 'cli-cors')), CONFIG);
    const r = await fetch(`${t.endpoint}/cli-cors/part-0.parquet`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8888', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://localhost:8888');
    assert.equal(r.headers.get('access-control-allow-headers'), 'content-type');
    await aws('s3api', 'delete-bucket-cors', '--bucket', 'cli-cors');
    const gone = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'get-bucket-cors', '--bucket', 'cli-cors'], env, s.dir);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NoSuchCORSConfiguration/);
  });

  it('a configuration S3 refuses is refused with its code and message', async () => {
    const bad = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'put-bucket-cors', '--bucket', 'cli-cors', '--cors-configuration', 'file://bad.json'], env, s.dir);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /InvalidRequest.*Found unsupported HTTP method in CORS config\. Unsupported method is PATCH/);
  });
});
