import type { IncomingHttpHeaders } from 'node:http';

/** A request header's value, the first when it was sent more than once (node:http gives a list then). Pure. */
export function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
