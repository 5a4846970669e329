import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { RealTimeClock, startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runPythonJson, scratch, type Scratch } from '../helpers/client-run.js';

const SCRIPT = fileURLToPath(new URL('./entity-wire-boto3.py', import.meta.url));
const ACCOUNT = '000000000000';

/**
 * boto3 (Debian python3-boto3) driving IAM's user and role answers (src/iam/wire/routes-iam.ts):
 * Attach/Detach User and Role policies with a PolicyArn that is not a policy ARN (InvalidInput, as
 * IAM answers GetPolicy's), ListAttached…Policies' PathPrefix (policyPathType in botocore's iam
 * model), and tags on users and roles.
 */
describe('boto3 against Cipherlake IAM user and role answers', () => {
  let t: TestServer;
  let s: Scratch;
  before(async () => {
    t = await startTestServer({}, undefined, new RealTimeClock());
    s = scratch('cipherlake-iam-entity-wire-');
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  const section = (name: string): Promise<Record<string, unknown>> => runPythonJson(SCRIPT, [name], awsEnv(s, { ENDPOINT: t.endpoint }), s.dir);
  const invalidInput = ['InvalidInput', 400, true];

  it('Attach/Detach User and Role policies: a PolicyArn that is not a policy ARN is InvalidInput "ARN … is not valid.", and nothing is attached', async () => {
    const out = await section('attach');
    assert.deepEqual(out.attach, Array(6).fill(invalidInput));
    assert.deepEqual(out.detach, Array(6).fill(invalidInput));
    assert.equal(out.message, `ARN arn:aws:iam::${ACCOUNT}:user/wire-user is not valid.`);
    assert.deepEqual(out.attached, [[], []]);
    assert.deepEqual(out.wellFormed, [['NoSuchEntity', 404, true], ['NoSuchEntity', 404, true]]);
  });

  it('ListAttachedUserPolicies / ListAttachedRolePolicies: PathPrefix filters by the policy path; one not of policyPathType is ValidationError', async () => {
    const out = await section('paths');
    assert.deepEqual(out.filtered, [['path-a', 'path-b'], ['path-a'], ['path-a', 'path-b', 'path-c'], ['path-a', 'path-b', 'path-c']]);
    assert.deepEqual(out.invalid, Array(6).fill(['ValidationError', 400, true]));
    assert.equal(
      out.message,
      "1 validation error detected: Value '/team#/' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
    );
  });
});
