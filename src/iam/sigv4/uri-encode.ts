const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Percent-encodes a string as SigV4 requires: every byte except the RFC 3986 unreserved
 * characters, upper-case hex. `keepSlash` leaves `/` alone (for S3 object paths).
 */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch) || (keepSlash && ch === '/')) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

/** Decodes %XX escapes (and, for query strings, '+' stays '+' as AWS clients never send it for space). */
export function uriDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
