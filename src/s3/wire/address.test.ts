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
