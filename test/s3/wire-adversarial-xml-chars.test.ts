import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { testServerFixture } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { signedXmlCode } from './raw-sign.js';

const B = 'xml-chars';


const deleteDoc = (...keys: string[]): Buffer => Buffer.from(`<Delete>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`, 'utf8');

// XML 1.0's Char production excludes the C0 controls but TAB, LF and CR, U+FFFE and U+FFFF
// (and lone surrogates, which UTF-8 cannot carry): a request document holding one raw is not
// XML, and S3 answers 400 MalformedXML, as it does for the reference form (&#1;).
describe('S3 wire: characters XML 1.0 excludes, written raw in a request document', () => {
  const fx = testServerFixture(async (f) => {
    await f.s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  const send = (method: string, path: string, query: Record<string, string>, body: Buffer): Promise<string> => signedXmlCode(fx.server.endpoint, method, path, query, body);

  const kept = async (key: string): Promise<void> => {
    assert.equal(await (await fx.s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body?.transformToString(), 'kept', `${JSON.stringify(key)} is kept`);
  };

  it('DeleteObjects with a raw \\x01 in a Key is MalformedXML and deletes nothing, neither that key nor one beside it', async () => {
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'a\x01b', Body: 'kept' }));
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'plain', Body: 'kept' }));
    assert.equal(await send('POST', `/${B}`, { delete: '' }, deleteDoc('plain', 'a\x01b')), '400 MalformedXML');
    await kept('a\x01b');
    await kept('plain');
  });

  it('each other excluded character, raw, is MalformedXML too (NUL, VT, FF, US, U+FFFE, U+FFFF, a lone surrogate), and so is one outside any element', async () => {
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'victim', Body: 'kept' }));
    for (const c of ['\x00', '\x0b', '\x0c', '\x1f', '\ufffe', '\uffff']) {
      assert.equal(await send('POST', `/${B}`, { delete: '' }, deleteDoc(`victim${c}`)), '400 MalformedXML', JSON.stringify(c));
    }
    // Between elements, where text is insignificant, the document is still not XML.
    const between = Buffer.from('<Delete>\x01<Object><Key>victim</Key></Object></Delete>');
    assert.equal(await send('POST', `/${B}`, { delete: '' }, between), '400 MalformedXML');
    // A lone surrogate has no UTF-8 form: its 3-byte encoding (ED A0 80, as CESU-8 writes U+D800) is not UTF-8.
    const surrogate = Buffer.concat([Buffer.from('<Delete><Object><Key>victim'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('</Key></Object></Delete>')]);
    assert.equal(await send('POST', `/${B}`, { delete: '' }, surrogate), '400 MalformedXML');
    await kept('victim');
  });

  it('TAB, LF and CR written raw are allowed: a CR LF in the key reads as LF, as XML normalises line ends', async () => {
    const key = 'tab\tlf\ncrlf\nend';
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: 'x' }));
    const body = Buffer.from('<Delete>\r\n\t<Object><Key>tab\tlf\ncrlf\r\nend</Key></Object>\r\n</Delete>');
    assert.equal(await send('POST', `/${B}`, { delete: '' }, body), '200 ');
    assert.equal(await errorCode(fx.s3.send(new HeadObjectCommand({ Bucket: B, Key: key }))), '404 NotFound');
  });

  it('an astral character (and U+FFFD, the last allowed below the excluded pair) written raw names its key', async () => {
    const key = 'astral-\u{1F600}-\u{10FFFD}-\uFFFD';
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: 'x' }));
    assert.equal(await send('POST', `/${B}`, { delete: '' }, deleteDoc(key)), '200 ');
    assert.equal(await errorCode(fx.s3.send(new HeadObjectCommand({ Bucket: B, Key: key }))), '404 NotFound');
  });

  it('PutObjectTagging with a raw \\x01 in a tag value is MalformedXML and leaves the tags', async () => {
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tagged', Body: 'x', Tagging: 'team=ml' }));
    const doc = Buffer.from('<Tagging><TagSet><Tag><Key>team</Key><Value>m\x01l</Value></Tag></TagSet></Tagging>');
    assert.equal(await send('PUT', `/${B}/tagged`, { tagging: '' }, doc), '400 MalformedXML');
    const tags = await fx.s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'tagged' }));
    assert.deepEqual(tags.TagSet, [{ Key: 'team', Value: 'ml' }]);
  });
});
