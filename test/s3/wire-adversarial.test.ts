import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { signedFetch, signedXmlCode, xmlCode } from './raw-sign.js';

const B = 'wire-adversarial';


// Hostile or out-of-schema input on S3's wire, sent as raw signed requests: each gets S3's
// error code and status, and none changes what is stored.
describe('S3 wire: hostile bodies and parameters', () => {
  let t: TestServer;
  let s3: S3Client;

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => t.close());

  const send = (method: string, path: string, query: Record<string, string>, body?: Buffer): Promise<string> => signedXmlCode(t.endpoint, method, path, query, body);

  it('CreateBucket with another document element than CreateBucketConfiguration is MalformedXML and creates nothing', async () => {
    const r = await send('PUT', '/wrong-root-bucket', {}, Buffer.from('<Foo><LocationConstraint>eu-west-1</LocationConstraint></Foo>'));
    assert.equal(r, '400 MalformedXML');
    assert.equal(await errorCode(s3.send(new HeadBucketCommand({ Bucket: 'wrong-root-bucket' }))), '404 NotFound');
    // A blank body still means "no configuration".
    assert.equal(await send('PUT', '/blank-body-bucket', {}, Buffer.from('  \n')), '200 ');
  });

  it('DeleteObjects with Quiet neither true nor false is MalformedXML and deletes nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'quiet', Body: 'kept' }));
    const r = await send('POST', `/${B}`, { delete: '' }, Buffer.from('<Delete><Quiet>maybe</Quiet><Object><Key>quiet</Key></Object></Delete>'));
    assert.equal(r, '400 MalformedXML');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'quiet' }))).Body?.transformToString(), 'kept');
  });

  it('DeleteObjects whose body is not UTF-8 is MalformedXML, and the key its bytes would decode to is kept', async () => {
    // Decoded leniently, 'a' 0xFF reads as 'a\uFFFD': a key the client never named.
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'a\uFFFD', Body: 'kept' }));
    const body = Buffer.concat([Buffer.from('<Delete><Object><Key>a'), Buffer.from([0xff]), Buffer.from('</Key></Object></Delete>')]);
    assert.equal(await send('POST', `/${B}`, { delete: '' }, body), '400 MalformedXML');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'a\uFFFD' }))).Body?.transformToString(), 'kept');
  });

  it('PutBucketEncryption with BucketKeyEnabled neither true nor false is MalformedXML and leaves the configuration', async () => {
    await s3.send(new PutBucketEncryptionCommand({ Bucket: B, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] } }));
    const doc = '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>maybe</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>';
    assert.equal(await send('PUT', `/${B}`, { encryption: '' }, Buffer.from(doc)), '400 MalformedXML');
    const got = await s3.send(new GetBucketEncryptionCommand({ Bucket: B }));
    assert.equal(got.ServerSideEncryptionConfiguration?.Rules?.[0]?.BucketKeyEnabled, true);
  });

  it('max-keys, max-parts and max-uploads beyond a 32-bit integer (or not digits) are InvalidArgument', async () => {
    for (const v of ['2147483648', '99999999999999999999', '1e3', '']) {
      assert.equal(await send('GET', `/${B}`, { 'max-keys': v }), '400 InvalidArgument', `max-keys=${v}`);
      assert.equal(await send('GET', `/${B}`, { uploads: '', 'max-uploads': v }), '400 InvalidArgument', `max-uploads=${v}`);
    }
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
    assert.equal(await send('GET', `/${B}/mp`, { uploadId: UploadId ?? '', 'max-parts': '2147483648' }), '400 InvalidArgument');
    // The largest 32-bit value is a valid (capped) page size.
    assert.equal(await send('GET', `/${B}`, { 'max-keys': '2147483647' }), '200 ');
    assert.equal(await send('GET', `/${B}/mp`, { uploadId: UploadId ?? '', 'max-parts': '2147483647' }), '200 ');
  });

  it('a second document element beside the one the schema names, or that one twice, is MalformedXML for every request document, and changes nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'two-roots', Body: 'kept' }));
    await s3.send(new PutBucketEncryptionCommand({ Bucket: B, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
    const { UploadId = '' } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'two-roots-mp' }));
    const { ETag = '' } = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'two-roots-mp', UploadId, PartNumber: 1, Body: 'part' }));
    const documents: Array<[string, string, Record<string, string>, string]> = [
      ['PUT', '/two-roots-bucket', {}, '<CreateBucketConfiguration/><CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>'],
      ['POST', `/${B}`, { delete: '' }, '<Delete><Object><Key>two-roots</Key></Object></Delete><Foo/>'],
      ['PUT', `/${B}`, { encryption: '' }, '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration><Foo/>'],
      ['PUT', `/${B}/two-roots`, { tagging: '' }, '<Foo/><Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>'],
      ['POST', `/${B}/two-roots-mp`, { uploadId: UploadId }, `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${ETag}</ETag></Part></CompleteMultipartUpload><Foo/>`],
      ['PUT', `/${B}`, { publicAccessBlock: '' }, '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration><Foo/>'],
    ];
    for (const [method, path, query, doc] of documents) {
      assert.equal(await send(method, path, query, Buffer.from(doc)), '400 MalformedXML', doc);
    }
    assert.equal(await errorCode(s3.send(new HeadBucketCommand({ Bucket: 'two-roots-bucket' }))), '404 NotFound');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'two-roots' }))).Body?.transformToString(), 'kept');
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'two-roots' }))).TagSet, []);
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'two-roots-mp' }))), '404 NotFound');
    assert.equal(await errorCode(s3.send(new GetPublicAccessBlockCommand({ Bucket: B }))), '404 NoSuchPublicAccessBlockConfiguration');
    assert.equal((await s3.send(new GetBucketEncryptionCommand({ Bucket: B }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');
  });

  it('PutPublicAccessBlock reads character references as the other documents do: &#116;rue is true, a reference XML forbids is MalformedXML', async () => {
    const doc = (v: string): Buffer => Buffer.from(`<PublicAccessBlockConfiguration><BlockPublicAcls>${v}</BlockPublicAcls></PublicAccessBlockConfiguration>`);
    // Read leniently, 'tr&#0;ue' was true (the reference dropped) and '&#116;rue' MalformedXML.
    assert.equal(await send('PUT', '/pab-refs', {}, undefined), '200 ');
    assert.equal(await send('PUT', '/pab-refs', { publicAccessBlock: '' }, doc('tr&#0;ue')), '400 MalformedXML');
    assert.equal(await errorCode(s3.send(new GetPublicAccessBlockCommand({ Bucket: 'pab-refs' }))), '404 NoSuchPublicAccessBlockConfiguration');
    assert.equal(await send('PUT', '/pab-refs', { publicAccessBlock: '' }, doc('&#116;rue')), '200 ');
    assert.equal((await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'pab-refs' }))).PublicAccessBlockConfiguration?.BlockPublicAcls, true);
  });

  it('a response-* override that cannot be a header value, or is not overridable, is InvalidArgument (GET and HEAD), not a 500', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'hello' }));
    for (const value of ['text/plain\r\nx-injected: 1', 'a\u0000b', 'caf\u00e9\u2603']) {
      assert.equal(await send('GET', `/${B}/k`, { 'response-content-type': value }), '400 InvalidArgument', JSON.stringify(value));
      assert.equal(await send('HEAD', `/${B}/k`, { 'response-content-disposition': value }), '400 ');
    }
    assert.equal(await send('GET', `/${B}/k`, { 'response-x-injected': 'v' }), '400 InvalidArgument');
    // Overrides AWS allows still apply, latin-1 text included.
    const res = await signedFetch(t.endpoint, { method: 'GET', path: `/${B}/k`, query: { 'response-content-type': 'text/x-caf\u00e9', 'response-cache-control': 'no-cache' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('content-type'), 'text/x-caf\u00e9');
    assert.equal(await res.text(), 'hello');
  });
});

// Element text is read as XML defines it: character references resolved (SDKs write them:
// the JavaScript SDK `&#x0A;` for LF, Go's encoder `&#34;` and `&#39;`), spaces kept. Read
// otherwise, a request names another key than the client's, and deletes it.
describe('S3 wire: XML text as clients write it', () => {
  let t: TestServer;
  let s3: S3Client;
  const Bucket = 'xml-text';

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => t.close());

  async function keys(): Promise<string[]> {
    return ((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? []).map((o) => o.Key ?? '').sort();
  }

  const send = (method: string, path: string, query: Record<string, string>, body: string): Promise<string> => signedXmlCode(t.endpoint, method, path, query, Buffer.from(body));

  it('DeleteObjects through the SDK deletes keys with LF, CR and outer spaces, and not the key they would trim to', async () => {
    const named = ['line\nfeed', 'carriage\rreturn', ' lead', 'trail '];
    for (const Key of [...named, 'lead', 'trail']) await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
    const out = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: named.map((Key) => ({ Key })) } }));
    assert.deepEqual((out.Deleted ?? []).map((d) => d.Key).sort(), [...named].sort());
    assert.deepEqual(await keys(), ['lead', 'trail']);
  });

  it("character references as Go's encoder writes them name the key (DeleteObjects) and the part's ETag (CompleteMultipartUpload)", async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: "it's", Body: 'x' }));
    assert.equal(await send('POST', `/${Bucket}`, { delete: '' }, '<Delete><Object><Key>it&#39;s</Key></Object></Delete>'), '200 ');
    assert.ok(!(await keys()).includes("it's"));
    const { UploadId = '' } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'go-mp' }));
    const { ETag = '' } = await s3.send(new UploadPartCommand({ Bucket, Key: 'go-mp', UploadId, PartNumber: 1, Body: 'part' }));
    const doc = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${ETag.replace(/"/g, '&#34;')}</ETag></Part></CompleteMultipartUpload>`;
    assert.equal(await send('POST', `/${Bucket}/go-mp`, { uploadId: UploadId }, doc), '200 ');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'go-mp' }))).Body?.transformToString(), 'part');
  });

  it('a key with CR is listed as itself (written as a character reference, not read back as LF)', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'cr\rkey', Body: 'x' }));
    assert.ok((await keys()).includes('cr\rkey'));
  });

  it('a tag with LF round-trips through the SDK', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'tagged', Body: 'x' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'tagged', Tagging: { TagSet: [{ Key: 'k\nl', Value: ' v\r ' }] } }));
    const got = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'tagged' }));
    assert.deepEqual(got.TagSet, [{ Key: 'k\nl', Value: ' v\r ' }]);
  });

  it('an unknown entity, a bare & or a reference to a character XML forbids is MalformedXML and deletes nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a b', Body: 'x' }));
    for (const key of ['a&nbsp;b', 'a & b', 'a&#0;b', 'a&#xD800;b']) {
      assert.equal(await send('POST', `/${Bucket}`, { delete: '' }, `<Delete><Object><Key>${key}</Key></Object></Delete>`), '400 MalformedXML', key);
    }
    assert.ok((await keys()).includes('a b'));
  });
});
