/** Bucket and key a request addresses (either may be absent: service or bucket level). */
export interface S3Address {
  readonly bucket?: string;
  readonly key?: string;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Finds the bucket and key. Virtual-hosted style when the Host (port stripped) ends with
 * `.<base domain>` for a configured base domain (`bucket.localhost:9080`); path style
 * otherwise (`/bucket/key`). Pure.
 */
export function resolveAddress(rawPath: string, host: string | undefined, baseDomains: readonly string[]): S3Address {
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
