import type { AuditLookupQuery } from '../../audit/audit-store.js';
import { InvalidAuditQueryError } from '../../audit/errors.js';
import { normalizeBucketReference, normalizeKeyReference } from '../../audit/record-index.js';

/** A compiled lookup: SQL with positional parameters, fetching limit + 1 rows to detect a next page. */
export interface CompiledLookup {
  sql: string;
  params: (string | number)[];
  limit: number;
}

/** Compiles a lookup query; raises InvalidAuditQueryError for a bad limit, time range or token. */
export function buildLookup(q: AuditLookupQuery): CompiledLookup {
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidAuditQueryError('limit must be 1..1000');
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, ...values: (string | number)[]): void => {
    where.push(clause);
    params.push(...values);
  };
  if (q.eventName !== undefined) add('r.event_name = ?', q.eventName);
  if (q.eventSource !== undefined) add('r.event_source = ?', q.eventSource);
  if (q.startTime) add('r.event_ms >= ?', q.startTime.getTime());
  if (q.endTime) add('r.event_ms <= ?', q.endTime.getTime());
  if (q.startTime && q.endTime && q.startTime > q.endTime) throw new InvalidAuditQueryError('startTime is after endTime');
  if (q.errorsOnly) where.push('r.error_code IS NOT NULL');
  if (q.accessDeniedOnly) where.push('r.access_denied = 1');
  const term = 'r.seq IN (SELECT seq FROM audit_terms WHERE kind = ? AND value = ?)';
  if (q.keyId !== undefined) add(term, 'key', normalizeKeyReference(q.keyId));
  if (q.bucket !== undefined) add(term, 'bucket', normalizeBucketReference(q.bucket));
  if (q.principal !== undefined) add(term, 'principal', q.principal);
  if (q.nextToken !== undefined) add('r.seq < ?', parseToken(q.nextToken));
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const sql = `SELECT r.seq AS seq, r.event_json AS eventJson FROM audit_records r ${filter} ORDER BY r.seq DESC LIMIT ${limit + 1}`;
  return { sql, params, limit };
}

function parseToken(token: string): number {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; before?: unknown };
    if (t.v === 1 && typeof t.before === 'number' && Number.isSafeInteger(t.before)) return t.before;
  } catch {
    // fall through to the typed error
  }
  throw new InvalidAuditQueryError('invalid next token');
}
