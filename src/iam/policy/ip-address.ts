/**
 * IPv4 / IPv6 addresses and CIDR blocks for the IpAddress and NotIpAddress operators.
 * Pure parsing, no DNS. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
 * Node listener reports) is treated as the IPv4 address, so IPv4 CIDRs still apply to it.
 */

/** A parsed CIDR block: network bytes (4 or 16) and prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i += 1) {
    const part = parts[i] ?? '';
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseHextets(text: string): number[] | undefined {
  if (text === '') return [];
  const out: number[] = [];
  for (const group of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    out.push(parseInt(group, 16));
  }
  return out;
}

function parseIpv6(text0: string): Uint8Array | undefined {
  let text = text0;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseHextets(halves[0] ?? '');
  const rest = halves.length === 2 ? parseHextets(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail !== undefined) out.set(tail, 12);
  return out;
}

function unmapIpv4(bytes: Uint8Array): Uint8Array {
  const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/** Parses an IPv4 or IPv6 address (no brackets, no zone); undefined when it is not one. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const bytes = text.includes(':') ? parseIpv6(text) : parseIpv4(text);
  return bytes === undefined ? undefined : unmapIpv4(bytes);
}

/**
 * Parses `address` or `address/prefix`; a bare address is a /32 or /128 block.
 * Returns undefined when the text is not a valid address or the prefix is out of range.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const raw = address.includes(':') ? parseIpv6(address) : parseIpv4(address);
  if (raw === undefined) return undefined;
  let prefix = raw.length * 8;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > prefix) return undefined;
    prefix = Number(p);
  }
  const bytes = unmapIpv4(raw);
  // An IPv4-mapped block keeps its meaning as an IPv4 block.
  if (bytes.length !== raw.length) prefix = Math.max(0, prefix - 96);
  return { bytes, prefix };
}

/** True when `address` (already parsed) lies inside `cidr`; families never match each other. */
export function cidrContains(cidr: Cidr, address: Uint8Array): boolean {
  if (cidr.bytes.length !== address.length) return false;
  const whole = cidr.prefix >> 3;
  for (let i = 0; i < whole; i += 1) {
    if (cidr.bytes[i] !== address[i]) return false;
  }
  const bits = cidr.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((cidr.bytes[whole] ?? 0) & mask) === ((address[whole] ?? 0) & mask);
}
