import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { robustSuite } from './harness.js';
import { s3Call, statusCode, type S3CallOptions } from './s3-call.js';

const KEEP_BODY = 'the object every failed request must leave alone';

/** A DOCTYPE that declares nested entities ("billion laughs"): nine levels of ten. */
function laughs(root: string): string {
  const decls = ['<!ENTITY l0 "lol">'];
  for (let i = 1; i <= 9; i++) decls.push(`<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`);
  return `<?xml version="1.0"?><!DOCTYPE r [${decls.join('')}]>${root.replace('ENTITY', '&l9;')}`;
}

/** A DOCTYPE whose entity `e` is `value` (internal) or a file (external, XXE). */
function withEntity(root: string, value: string, external = false): string {
  const decl = external ? `<!ENTITY e SYSTEM "${value}">` : `<!ENTITY e "${value}">`;
  return `<?xml version="1.0"?><!DOCTYPE r [${decl}]>${root.replace('ENTITY', '&e;')}`;
}

/**
 * Malformed XML bodies on every S3 operation that reads one, correctly signed: each is
 * MalformedXML (or the operation's own 4xx), nothing stored changes, no DOCTYPE entity
 * is ever expanded, and the server keeps serving.
 */
describe('S3: malformed XML bodies', () => {
  const call = (method: string, path: string, opts: S3CallOptions = {}): ReturnType<typeof s3Call> => s3Call(t.endpoint, method, path, opts);
  const t = robustSuite(
    { s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } },
    {
      async setup() {
        assert.equal((await call('PUT', '/rob')).status, 200);
        assert.equal((await call('PUT', '/rob/keep', { body: KEEP_BODY })).status, 200);
        const tagging = '<Tagging><TagSet><Tag><Key>team</Key><Value>ml</Value></Tag></TagSet></Tagging>';
        assert.equal((await call('PUT', '/rob/keep', { query: { tagging: '' }, body: tagging })).status, 200);
        const enc = '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>';
        assert.equal((await call('PUT', '/rob', { query: { encryption: '' }, body: enc })).status, 200);
      },
      async check() {
        const keep = await call('GET', '/rob/keep');
        assert.equal(keep.status, 200, 'a normal S3 GET after the malformed input');
        assert.equal(keep.text, KEEP_BODY, 'the stored object is unchanged');
        const tags = await call('GET', '/rob/keep', { query: { tagging: '' } });
        assert.match(tags.text, /<Key>team<\/Key><Value>ml<\/Value>/, 'its tags are unchanged');
        const enc = await call('GET', '/rob', { query: { encryption: '' } });
        assert.match(enc.text, /<SSEAlgorithm>AES256<\/SSEAlgorithm>/, 'the bucket default encryption is unchanged');
      },
    },
  );

  it('DeleteObjects: broken, empty, wrongly shaped or oversized documents → MalformedXML, nothing deleted', async () => {
    const bodies = [
      '<Delete><Object><Key>keep</Key></Object',
      'keep',
      '',
      '<Foo><Object><Key>keep</Key></Object></Foo>',
      '<Delete></Delete>',
      '<Delete><Object><Key><a>keep</a></Key></Object></Delete>',
      '<Delete><Object>keep</Object></Delete>',
      '<Delete><Object><Key></Key></Object></Delete>',
      `<Delete>${'<Object><Key>keep</Key></Object>'.repeat(1001)}</Delete>`,
      `<Delete>${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}</Delete>`,
    ];
    for (const body of bodies) {
      assert.equal(statusCode(await call('POST', '/rob', { query: { delete: '' }, body, md5: true })), '400 MalformedXML', body.slice(0, 60));
    }
  });

  it('a DOCTYPE is refused on every XML body: no internal or external entity is expanded', async () => {
    const docs: Array<[string, string, S3CallOptions]> = [
      ['POST', '/rob', { query: { delete: '' }, md5: true, body: '<Delete><Object><Key>ENTITY</Key></Object></Delete>' }],
      ['PUT', '/rob', { query: { encryption: '' }, body: '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>ENTITY</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>' }],
      ['PUT', '/rob/keep', { query: { tagging: '' }, body: '<Tagging><TagSet><Tag><Key>team</Key><Value>ENTITY</Value></Tag></TagSet></Tagging>' }],
      ['PUT', '/y-entity', { body: '<CreateBucketConfiguration><LocationConstraint>ENTITY</LocationConstraint></CreateBucketConfiguration>' }],
      ['PUT', '/rob', { query: { publicAccessBlock: '' }, body: '<PublicAccessBlockConfiguration><BlockPublicAcls>ENTITY</BlockPublicAcls></PublicAccessBlockConfiguration>' }],
    ];
    for (const [method, path, opts] of docs) {
      const body = opts.body as string;
      // The internal entity spells exactly what the document would need to take effect
      // (delete `keep`, set aws:kms, rewrite the tag), so an expansion would show.
      const value = body.includes('SSEAlgorithm') ? 'aws:kms' : body.includes('<Delete>') ? 'keep' : body.includes('Location') ? 'us-east-1' : body.includes('Block') ? 'true' : 'changed';
      for (const doc of [withEntity(body, value), withEntity(body, 'file:///etc/passwd', true), laughs(body)]) {
        const r = await call(method, path, { ...opts, body: doc });
        assert.equal(statusCode(r), '400 MalformedXML', `${method} ${path} ${doc.slice(0, 80)}`);
        assert.ok(!r.text.includes('root:'), 'no file content in the answer');
      }
    }
    assert.equal((await call('HEAD', '/y-entity')).status, 404, 'the bucket was not created');
    assert.equal((await call('GET', '/rob', { query: { publicAccessBlock: '' } })).status, 404, 'no public access block was stored');
  });

  it('PutBucketEncryption: broken or wrongly shaped → MalformedXML; an unknown algorithm → InvalidArgument', async () => {
    const rule = (inner: string): string => `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>${inner}</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`;
    for (const body of ['<ServerSideEncryptionConfiguration><Rule>', '', '<ServerSideEncryptionConfiguration/>', rule('<SSEAlgorithm><x/></SSEAlgorithm>'), rule('<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID><x/></KMSMasterKeyID>')]) {
      assert.equal(statusCode(await call('PUT', '/rob', { query: { encryption: '' }, body })), '400 MalformedXML', body.slice(0, 80));
    }
    assert.equal(statusCode(await call('PUT', '/rob', { query: { encryption: '' }, body: rule('<SSEAlgorithm>ROT13</SSEAlgorithm>') })), '400 InvalidArgument');
  });

  it('PutObjectTagging: broken or wrongly shaped → MalformedXML, bad tags → InvalidTag; PutBucketTagging as well, and InvalidRequest without a digest', async () => {
    const set = (inner: string): string => `<Tagging><TagSet>${inner}</TagSet></Tagging>`;
    for (const body of ['<Tagging><TagSet>', '', '<Other/>', set('<Tag><Key><a/></Key><Value>v</Value></Tag>'), set('<Tag><Value>v</Value></Tag>'), '<Tagging/>']) {
      assert.equal(statusCode(await call('PUT', '/rob/keep', { query: { tagging: '' }, body })), '400 MalformedXML', body.slice(0, 80));
    }
    for (const body of [set('<Tag><Key>aws:x</Key><Value>v</Value></Tag>'), set('<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag>'), set(`<Tag><Key>${'k'.repeat(129)}</Key><Value>v</Value></Tag>`)]) {
      assert.equal(statusCode(await call('PUT', '/rob/keep', { query: { tagging: '' }, body })), '400 InvalidTag', body.slice(0, 80));
    }
    // PutBucketTagging (served since 87fe628) takes its document only with a digest, as S3.
    assert.equal(statusCode(await call('PUT', '/rob', { query: { tagging: '' }, body: '<Tagging><TagSet>' })), '400 InvalidRequest');
    assert.equal(statusCode(await call('PUT', '/rob', { query: { tagging: '' }, body: '<Tagging><TagSet>', md5: true })), '400 MalformedXML');
    assert.equal(statusCode(await call('PUT', '/rob', { query: { tagging: '' }, body: set('<Tag><Key>aws:x</Key><Value>v</Value></Tag>'), md5: true })), '400 InvalidTag');
  });

  it('CreateBucket: a broken configuration → MalformedXML, an unknown region → InvalidLocationConstraint; no bucket is made', async () => {
    for (const body of ['<CreateBucketConfiguration><LocationConstraint>', '<CreateBucketConfiguration><LocationConstraint><a/></LocationConstraint></CreateBucketConfiguration>']) {
      assert.equal(statusCode(await call('PUT', '/y-broken', { body })), '400 MalformedXML', body);
    }
    const mars = '<CreateBucketConfiguration><LocationConstraint>mars-1</LocationConstraint></CreateBucketConfiguration>';
    assert.equal(statusCode(await call('PUT', '/y-broken', { body: mars })), '400 InvalidLocationConstraint');
    assert.equal((await call('HEAD', '/y-broken')).status, 404);
  });

  it('CreateBucket with an explicit us-east-1 LocationConstraint → InvalidLocationConstraint (as S3: us-east-1 is no constraint); no bucket is made', async () => {
    const east = '<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>';
    assert.equal(statusCode(await call('PUT', '/y-east', { body: east })), '400 InvalidLocationConstraint');
    assert.equal((await call('HEAD', '/y-east')).status, 404);
    assert.equal((await call('PUT', '/y-east', { body: '<CreateBucketConfiguration></CreateBucketConfiguration>' })).status, 200, 'no constraint is us-east-1');
    assert.equal((await call('HEAD', '/y-east')).headers.get('x-amz-bucket-region'), 'us-east-1');
  });

  it('CompleteMultipartUpload: broken documents → MalformedXML and the upload survives to complete correctly', async () => {
    const created = await call('POST', '/rob/mp', { query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1] ?? '';
    const part = await call('PUT', '/rob/mp', { query: { uploadId, partNumber: '1' }, body: 'the only part' });
    const etag = part.headers.get('etag') ?? '';
    const doc = (inner: string): string => `<CompleteMultipartUpload>${inner}</CompleteMultipartUpload>`;
    const bad = [
      '<CompleteMultipartUpload><Part>',
      '',
      doc(''),
      doc('<Part><PartNumber>abc</PartNumber><ETag>x</ETag></Part>'),
      doc('<Part><PartNumber>-1</PartNumber><ETag>x</ETag></Part>'),
      doc('<Part><PartNumber>0</PartNumber><ETag>x</ETag></Part>'),
      doc('<Part><PartNumber>99999999999999999999</PartNumber><ETag>x</ETag></Part>'),
      doc('<Part><PartNumber>1</PartNumber><ETag><a/></ETag></Part>'),
      doc('<Part><PartNumber>1</PartNumber></Part>'),
      laughs(doc('<Part><PartNumber>1</PartNumber><ETag>ENTITY</ETag></Part>')),
    ];
    for (const body of bad) assert.equal(statusCode(await call('POST', '/rob/mp', { query: { uploadId }, body })), '400 MalformedXML', body.slice(0, 80));
    assert.equal(statusCode(await call('POST', '/rob/mp', { query: { uploadId }, body: doc('<Part><PartNumber>1</PartNumber><ETag>"0000"</ETag></Part>') })), '400 InvalidPart');
    const done = await call('POST', '/rob/mp', { query: { uploadId }, body: doc(`<Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part>`) });
    assert.equal(done.status, 200, done.text);
    assert.equal((await call('GET', '/rob/mp')).text, 'the only part');
  });
});
