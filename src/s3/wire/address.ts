/** Bucket and key a request addresses (either may be absent: service or bucket level). */
export interface S3Address {
  readonly bucket?: string;
  readonly key?: string;
}

function decode(s: string): string {
  // Without an escape there is nothing to decode: decodeURIComponent would copy the string.
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `.<domain>` in lower case per configured list (settings: never changed once made), built once per list instead of per request. */
const suffixes = new WeakMap<readonly string[], readonly string[]>();

function suffixesOf(baseDomains: readonly string[]): readonly string[] {
  let list = suffixes.get(baseDomains);
  if (list === undefined) {
    list = baseDomains.map((d) => `.${d.toLowerCase()}`);
    suffixes.set(baseDomains, list);
  }
  return list;
}

/**
 * Finds the bucket and key. Virtual-hosted style when the Host (port stripped) ends with
 * `.<base domain>` for a configured base domain (`bucket.localhost:9080`); path style
 * otherwise (`/bucket/key`). Pure.
 */
export function resolveAddress(rawPath: string, host: string | undefined, baseDomains: readonly string[]): S3Address {
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const suffix = suffixesOf(baseDomains).find((d) => hostname.endsWith(d));
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  if (suffix !== undefined) {
    const bucket = hostname.slice(0, hostname.length - suffix.length);
    return path === '' ? { bucket } : { bucket, key: decode(path) };
  }
  if (path === '') return {};
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decode(path) };
  const key = decode(path.slice(slash + 1));
  return key === '' ? { bucket: decode(path.slice(0, slash)) } : { bucket: decode(path.slice(0, slash)), key };
}
