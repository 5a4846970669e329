import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand, DeleteBucketTaggingCommand, GetBucketCorsCommand, GetBucketTaggingCommand, ListBucketsCommand, PutBucketCorsCommand, PutBucketTaggingCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { closeSqlite, openSqlite } from '../../src/store/sqlite/database.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, run, runOk, scratch, type Scratch } from '../helpers/client-run.js';
import { newUserKey } from '../iam/query-client.js';
import { errorCode } from './helpers.js';
import { signedFetch, signedXmlCode, xmlCode } from './raw-sign.js';

/**
 * Bucket tagging (PutBucketTagging, GetBucketTagging, DeleteBucketTagging), as S3 answers it:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html (NoSuchTagSet when
 * none), 50 tags per bucket, the object tags' rules otherwise.
 */
describe('S3 bucket tagging', () => {
  let t: TestServer;
  let s3: S3Client;
  let s: Scratch;
  const B = 'btags';
  const tagsOf = async (Bucket = B): Promise<Array<[string, string]>> =>
    ((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet ?? []).map((x) => [x.Key ?? '', x.Value ?? '']);
  const putTags = (TagSet: Array<{ Key: string; Value: string }>, Bucket = B): Promise<unknown> => s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet } }));

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    s = scratch('cipherlake-btags-');
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('an untagged bucket is NoSuchTagSet; Put replaces, Delete removes (204 twice), each kept in the bucket', async () => {
    assert.equal(await errorCode(s3.send(new GetBucketTaggingCommand({ Bucket: B }))), '404 NoSuchTagSet');
    await putTags([{ Key: 'team', Value: 'ml' }, { Key: 'cost center', Value: '42 / a&b <c>' }, { Key: 'empty', Value: '' }]);
    assert.deepEqual(await tagsOf(), [['team', 'ml'], ['cost center', '42 / a&b <c>'], ['empty', '']]);
    await putTags([{ Key: 'only', Value: 'one' }]);
    assert.deepEqual(await tagsOf(), [['only', 'one']]);
    const t2 = await t.restart();
    t = t2;
    s3 = t.s3();
    assert.deepEqual(await tagsOf(), [['only', 'one']], 'stored, not held in memory');
    const del = await s3.send(new DeleteBucketTaggingCommand({ Bucket: B }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal(await errorCode(s3.send(new GetBucketTaggingCommand({ Bucket: B }))), '404 NoSuchTagSet');
    assert.equal((await s3.send(new DeleteBucketTaggingCommand({ Bucket: B }))).$metadata.httpStatusCode, 204);
    await putTags([{ Key: 'a', Value: '1' }]);
    await putTags([]);
    assert.equal(await errorCode(s3.send(new GetBucketTaggingCommand({ Bucket: B }))), '404 NoSuchTagSet', 'an empty TagSet leaves the bucket untagged');
  });

  it("S3's rules: at most 50 tags (BadRequest), key ≤ 128, value ≤ 256, no duplicates, no aws: prefix (InvalidTag); a refused set keeps the old one", async () => {
    await putTags([{ Key: 'keep', Value: 'me' }]);
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: 'v'.repeat(256) }));
    // Too many is S3's BadRequest with its message (as S3 answers PutBucketTagging), the rest InvalidTag.
    const tooMany = await s3.send(new PutBucketTaggingCommand({ Bucket: B, Tagging: { TagSet: many(51) } })).then(
      () => assert.fail('51 tags were taken'),
      (err: { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }) => err,
    );
    assert.deepEqual([tooMany.$metadata?.httpStatusCode, tooMany.name, tooMany.message], [400, 'BadRequest', 'Bucket tag count cannot be greater than 50']);
    for (const TagSet of [[{ Key: 'k'.repeat(129), Value: 'v' }], [{ Key: 'k', Value: 'v'.repeat(257) }], [{ Key: 'd', Value: '1' }, { Key: 'd', Value: '2' }], [{ Key: 'aws:x', Value: 'v' }], [{ Key: 'AWS:x', Value: 'v' }]]) {
      assert.equal(await errorCode(putTags(TagSet)), '400 InvalidTag', JSON.stringify(TagSet).slice(0, 60));
    }
    assert.deepEqual(await tagsOf(), [['keep', 'me']]);
    await putTags([...many(49), { Key: 'k'.repeat(128), Value: 'x' }]);
    assert.equal((await tagsOf()).length, 50, 'fifty tags (more than an object may have) are taken');
  });

  it('a missing bucket is NoSuchBucket for each call; a broken document is MalformedXML', async () => {
    const calls = [() => tagsOf('no-such-bucket'), () => putTags([{ Key: 'a', Value: 'b' }], 'no-such-bucket'), () => s3.send(new DeleteBucketTaggingCommand({ Bucket: 'no-such-bucket' }))];
    for (const call of calls) assert.equal(await errorCode(call()), '404 NoSuchBucket');
    const path = `/${B}`;
    assert.equal(await signedXmlCode(t.endpoint, 'PUT', path, { tagging: '' }, Buffer.from('<Tagging><TagSet><Tag><Key>a</Key></TagSet></Tagging>')), '400 MalformedXML');
    assert.equal(await signedXmlCode(t.endpoint, 'PUT', path, { tagging: '' }, Buffer.from('<Tagging><Tags/></Tagging>')), '400 MalformedXML');
    // S3 requires an integrity check of the document (Content-MD5, or a checksum header as current SDKs send).
    const body = Buffer.from('<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>');
    assert.equal(await xmlCode(await signedFetch(t.endpoint, { method: 'PUT', path, query: { tagging: '' }, body })), '400 InvalidRequest');
    assert.equal(await signedXmlCode(t.endpoint, 'PUT', path, { tagging: '' }, body), '204 ');
    assert.deepEqual(await tagsOf(), [['a', 'b']]);
  });

  it('authorized as s3:PutBucketTagging (Put and Delete) and s3:GetBucketTagging, and audited under the operation names', async () => {
    const reader = await newUserKey(t.endpoint, 'tag-reader', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetBucketTagging', Resource: `arn:aws:s3:::${B}` }] }));
    const writer = await newUserKey(t.endpoint, 'tag-writer', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutBucketTagging', Resource: `arn:aws:s3:::${B}` }] }));
    const r = t.s3({ credentials: reader });
    const w = t.s3({ credentials: writer });
    await w.send(new PutBucketTaggingCommand({ Bucket: B, Tagging: { TagSet: [{ Key: 'by', Value: 'writer' }] } }));
    assert.deepEqual((await r.send(new GetBucketTaggingCommand({ Bucket: B }))).TagSet, [{ Key: 'by', Value: 'writer' }]);
    assert.equal(await errorCode(w.send(new GetBucketTaggingCommand({ Bucket: B }))), '403 AccessDenied');
    assert.equal(await errorCode(r.send(new PutBucketTaggingCommand({ Bucket: B, Tagging: { TagSet: [] } }))), '403 AccessDenied');
    assert.equal(await errorCode(r.send(new DeleteBucketTaggingCommand({ Bucket: B }))), '403 AccessDenied');
    assert.deepEqual(await tagsOf(), [['by', 'writer']], 'the refused calls changed nothing');
    await w.send(new DeleteBucketTaggingCommand({ Bucket: B }));
    assert.equal(await errorCode(r.send(new GetBucketTaggingCommand({ Bucket: B }))), '404 NoSuchTagSet');

    await t.server.audit.flush();
    for (const eventName of ['PutBucketTagging', 'GetBucketTagging', 'DeleteBucketTagging']) {
      const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName, limit: 200 });
      assert.ok(records.length > 0, `${eventName} is audited`);
      assert.ok(records.some((x) => (x.event as { errorCode?: string }).errorCode === 'AccessDenied'), `${eventName}'s denial is audited`);
    }
    // As CloudTrail: the allowed call's record carries its Tagging document (test/audit/s3-bucket-tagging-record), the denied one's none.
    const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PutBucketTagging', limit: 200 });
    const byWriter = records.filter((x) => x.event.userIdentity?.userName === 'tag-writer').map((x) => (x.event.requestParameters as { Tagging?: unknown }).Tagging);
    assert.deepEqual(byWriter, [{ xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', TagSet: { Tag: { Key: 'by', Value: 'writer' } } }]);
    const byReader = records.filter((x) => x.event.userIdentity?.userName === 'tag-reader');
    assert.deepEqual(byReader.map((x) => [x.event.errorCode, (x.event.requestParameters as { Tagging?: unknown }).Tagging]), [['AccessDenied', undefined]]);
  });

  it('the AWS CLI: put-bucket-tagging, get-bucket-tagging, delete-bucket-tagging', async () => {
    const env = awsEnv(s);
    const aws = (...args: string[]): Promise<string> => runOk('aws', ['--endpoint-url', t.endpoint, ...args], env, s.dir);
    await aws('s3api', 'put-bucket-tagging', '--bucket', B, '--tagging', 'TagSet=[{Key=project,Value=lake}]');
    assert.deepEqual(JSON.parse(await aws('s3api', 'get-bucket-tagging', '--bucket', B)), { TagSet: [{ Key: 'project', Value: 'lake' }] });
    await aws('s3api', 'delete-bucket-tagging', '--bucket', B);
    const none = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'get-bucket-tagging', '--bucket', B], env, s.dir);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /NoSuchTagSet/);
  });
});

/**
 * The two columns s3_buckets gained (tags here, cors with PutBucketCors) were added on two
 * branches: a data directory written before either, or with only one of them, opens with both
 * and serves its buckets, their tags and their CORS configuration.
 */
describe('S3 bucket tags and CORS on a data directory written before their columns', () => {
  it('a server restarted on a database without the tags column, the cors column or both serves both', async () => {
    let t = await startTestServer();
    try {
      await t.s3().send(new CreateBucketCommand({ Bucket: 'olddir' }));
      for (const dropped of [['tags', 'cors'], ['cors'], ['tags']]) {
        await t.stop();
        const db = openSqlite(join(t.dataDir, 'metadata.db'));
        try {
          for (const column of dropped) db.exec(`ALTER TABLE s3_buckets DROP COLUMN ${column}`);
          const columns = (db.prepare('PRAGMA table_info(s3_buckets)').all() as Array<{ name: string }>).map((c) => c.name);
          assert.deepEqual(dropped.filter((c) => columns.includes(c)), [], 'the old schema, as that release left it');
        } finally {
          await closeSqlite(db);
        }
        t = await startTestServer({}, t.dataDir, t.clock);
        const s3 = t.s3();
        const label = `without ${dropped.join(' and ')}`;
        assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['olddir'], label);
        // A dropped column comes back empty; the one kept keeps what the last round put.
        if (dropped.includes('tags')) assert.equal(await errorCode(s3.send(new GetBucketTaggingCommand({ Bucket: 'olddir' }))), '404 NoSuchTagSet', label);
        else assert.equal((await s3.send(new GetBucketTaggingCommand({ Bucket: 'olddir' }))).TagSet?.length, 1, label);
        if (dropped.includes('cors')) assert.equal(await errorCode(s3.send(new GetBucketCorsCommand({ Bucket: 'olddir' }))), '404 NoSuchCORSConfiguration', label);
        else assert.equal((await s3.send(new GetBucketCorsCommand({ Bucket: 'olddir' }))).CORSRules?.[0]?.AllowedOrigins?.[0], 'https://old.example.com', label);
        await s3.send(new PutBucketTaggingCommand({ Bucket: 'olddir', Tagging: { TagSet: [{ Key: 'era', Value: label }] } }));
        await s3.send(new PutBucketCorsCommand({ Bucket: 'olddir', CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://old.example.com'], AllowedMethods: ['GET'] }] } }));
        assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket: 'olddir' }))).TagSet, [{ Key: 'era', Value: label }], label);
        const pre = await fetch(`${t.endpoint}/olddir/k`, { method: 'OPTIONS', headers: { origin: 'https://old.example.com', 'access-control-request-method': 'GET' } });
        assert.equal(pre.status, 200, label);
        assert.equal(pre.headers.get('access-control-allow-origin'), 'https://old.example.com', label);
      }
    } finally {
      await t.close();
    }
  });
});
