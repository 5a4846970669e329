import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { MalformedXmlError } from '../errors.js';
import { multipartEtag } from '../operations/multipart/complete-upload.js';
import { parseCompleteUpload } from './xml-multipart.js';

describe('CompleteMultipartUpload document', () => {
  it('parses parts in document order with quoted ETags and checksums', () => {
    const xml = `<?xml version="1.0"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <Part><PartNumber>2</PartNumber><ETag>&quot;abc&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
      <Part><ETag>"def"</ETag><PartNumber>10000</PartNumber></Part></CompleteMultipartUpload>`;
    assert.deepEqual(parseCompleteUpload(Buffer.from(xml)), [
      { partNumber: 2, etag: '"abc"', checksums: { crc32: 'AAAAAA==' } },
      { partNumber: 10000, etag: '"def"', checksums: {} },
    ]);
  });

  const bad = [
    ['empty body', ''],
    ['not XML', 'garbage<'],
    ['other root', '<Delete><Object><Key>a</Key></Object></Delete>'],
    ['no parts', '<CompleteMultipartUpload></CompleteMultipartUpload>'],
    ['part 0', '<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>'],
    ['part 10001', '<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>'],
    ['no ETag', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>'],
    ['number not a number', '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>'],
  ];
  for (const [name, xml] of bad) {
    it(`refuses ${name} with MalformedXML`, () => {
      assert.throws(() => parseCompleteUpload(Buffer.from(xml!)), MalformedXmlError);
    });
  }
});

describe('multipart ETag', () => {
  it('is the MD5 of the binary part MD5s, then -N', () => {
    const parts = [Buffer.from('one'), Buffer.from('two')].map((b) => createHash('md5').update(b).digest());
    const expected = createHash('md5').update(Buffer.concat(parts)).digest('hex');
    assert.equal(multipartEtag(parts.map((p) => ({ etag: `"${p.toString('hex')}"` }))), `"${expected}-2"`);
  });
});
