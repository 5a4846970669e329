import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveAddress, type S3Address } from './address.js';

/** resolveAddress as it was before 83b32af (decode always tried, suffixes lower-cased per call): the reference. */
function reference(rawPath: string, host: string | undefined, baseDomains: readonly string[]): S3Address {
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const base = baseDomains.find((d) => hostname.endsWith(`.${d.toLowerCase()}`));
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  if (base !== undefined) {
    const bucket = hostname.slice(0, hostname.length - base.length - 1);
    return path === '' ? { bucket } : { bucket, key: decode(path) };
  }
  if (path === '') return {};
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decode(path) };
  const key = decode(path.slice(slash + 1));
  return key === '' ? { bucket: decode(path.slice(0, slash)) } : { bucket: decode(path.slice(0, slash)), key };
}

describe('resolveAddress', () => {
  it('answers as before for paths with %, +, unicode, .., empty segments, in both styles and any Host case', () => {
    const pieces = ['a', 'Key', '/', '//', '%', '%2F', '%2f', '%25', '%zz', '%E2%82%AC', '%C3', '+', '%2B', ' ', '€', '..', '.', '~', '?', '\uD800', 'x y'];
    const hosts = [undefined, '', 'localhost', 'localhost:9080', 'bucket.localhost:9080', 'My-Bucket.LocalHost', 'b.s3.example.com:443', 'B.S3.EXAMPLE.COM', '127.0.0.1:9000', 'evil.localhost.example.org', '.localhost', 'bucket.localhost:abc'];
    const domainLists: ReadonlyArray<readonly string[]> = [['localhost'], ['S3.Example.COM', 'localhost'], [], ['example.com', 's3.example.com']];
    let seed = 7;
    const next = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    let cases = 0;
    for (let n = 0; n < 20_000; n += 1) {
      let path = next(4) === 0 ? '' : '/';
      for (let k = next(6); k > 0; k -= 1) path += pieces[next(pieces.length)];
      const host = hosts[next(hosts.length)];
      const domains = domainLists[next(domainLists.length)] as readonly string[];
      assert.deepEqual(resolveAddress(path, host, domains), reference(path, host, domains), JSON.stringify({ path, host, domains }));
      cases += 1;
    }
    assert.equal(cases, 20_000);
  });

  // Hand-written answers (not derived from any implementation) for each kind of input the
  // differential test above draws from: it only shows the code still answers as the old one did.
  it('answers independent expectations: escapes, +, unicode, dot segments, empty segments, both styles, Host case and port', () => {
    const L = ['localhost'];
    const cases: ReadonlyArray<[string, string | undefined, readonly string[], S3Address]> = [
      // Path style.
      ['', 'localhost', L, {}],
      ['/', 'localhost:9080', L, {}],
      ['/b', 'localhost', L, { bucket: 'b' }],
      ['/b/', 'localhost', L, { bucket: 'b' }],
      ['b/k', 'localhost', L, { bucket: 'b', key: 'k' }],
      ['/b//', 'localhost', L, { bucket: 'b', key: '/' }],
      ['/b/a//c/', 'localhost', L, { bucket: 'b', key: 'a//c/' }],
      ['/b/a+b', 'localhost', L, { bucket: 'b', key: 'a+b' }],
      ['/b/a%2Bb', 'localhost', L, { bucket: 'b', key: 'a+b' }],
      ['/b/%2F', 'localhost', L, { bucket: 'b', key: '/' }],
      ['/b/%2f', 'localhost', L, { bucket: 'b', key: '/' }],
      ['/b/%25', 'localhost', L, { bucket: 'b', key: '%' }],
      ['/b/%2525', 'localhost', L, { bucket: 'b', key: '%25' }],
      ['/b/%zz', 'localhost', L, { bucket: 'b', key: '%zz' }],
      ['/b/a%zz%41', 'localhost', L, { bucket: 'b', key: 'a%zz%41' }],
      ['/b/%C3', 'localhost', L, { bucket: 'b', key: '%C3' }],
      ['/b/%ED%A0%80', 'localhost', L, { bucket: 'b', key: '%ED%A0%80' }],
      ['/b/%E2%82%AC', 'localhost', L, { bucket: 'b', key: '€' }],
      ['/b/€', 'localhost', L, { bucket: 'b', key: '€' }],
      ['/b/\uD800', 'localhost', L, { bucket: 'b', key: '\uD800' }],
      ['/b/x y', 'localhost', L, { bucket: 'b', key: 'x y' }],
      ['/b/x%20y', 'localhost', L, { bucket: 'b', key: 'x y' }],
      ['/b/./../x', 'localhost', L, { bucket: 'b', key: './../x' }],
      ['/%62/k', 'localhost', L, { bucket: 'b', key: 'k' }],
      ['/b/k', undefined, L, { bucket: 'b', key: 'k' }],
      ['/b/k', '', L, { bucket: 'b', key: 'k' }],
      ['/b/k', '127.0.0.1:9000', [], { bucket: 'b', key: 'k' }],
      ['/k', 'b.localhost', [], { bucket: 'k' }],
      ['/k', 'evil.localhost.example.org', L, { bucket: 'k' }],
      ['/k', 'bucket.localhost:abc', L, { bucket: 'k' }],
      // Virtual-hosted style.
      ['/', 'bucket.localhost:9080', L, { bucket: 'bucket' }],
      ['', 'bucket.localhost', L, { bucket: 'bucket' }],
      ['/a/b', 'My-Bucket.LocalHost', L, { bucket: 'my-bucket', key: 'a/b' }],
      ['//', 'b.localhost', L, { bucket: 'b', key: '/' }],
      ['/%2F%zz', 'b.localhost', L, { bucket: 'b', key: '%2F%zz' }],
      ['/a%2Fb+c', 'b.localhost', L, { bucket: 'b', key: 'a/b+c' }],
      ['/k', 'B.S3.EXAMPLE.COM', ['S3.Example.COM'], { bucket: 'b', key: 'k' }],
      ['/k', 'b.s3.example.com:443', ['localhost', 'S3.EXAMPLE.com'], { bucket: 'b', key: 'k' }],
      // The first listed base domain the Host ends with wins.
      ['/k', 'b.s3.example.com', ['example.com', 's3.example.com'], { bucket: 'b.s3', key: 'k' }],
    ];
    for (const [path, host, domains, want] of cases) {
      assert.deepEqual(resolveAddress(path, host, domains), want, JSON.stringify({ path, host, domains }));
    }
  });

  it('examples', () => {
    const domains = ['S3.Example.COM'];
    assert.deepEqual(resolveAddress('/a%2Fb+c%20d', 'Photos.s3.example.com:443', domains), { bucket: 'photos', key: 'a/b+c d' });
    assert.deepEqual(resolveAddress('/', 'photos.S3.EXAMPLE.com', domains), { bucket: 'photos' });
    assert.deepEqual(resolveAddress('/photos/a/../b//c', 'localhost:9080', domains), { bucket: 'photos', key: 'a/../b//c' });
    assert.deepEqual(resolveAddress('/photos/100%', 'localhost', domains), { bucket: 'photos', key: '100%' }, 'a bad escape is kept as is');
    assert.deepEqual(resolveAddress('/photos/', 'localhost', domains), { bucket: 'photos' });
    assert.deepEqual(resolveAddress('/photos/%E2%82%AC', 'localhost', domains), { bucket: 'photos', key: '€' });
    // Another list (a different array) is not answered from the first one's suffixes.
    assert.deepEqual(resolveAddress('/k', 'b.other.test', ['other.test']), { bucket: 'b', key: 'k' });
    assert.deepEqual(resolveAddress('/k', 'b.other.test', domains), { bucket: 'k' }, 'not a base domain of this list: path style');
  });
});
