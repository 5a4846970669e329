import type { AuditLookupQuery } from '../../audit/audit-store.js';
import { InvalidAuditQueryError } from '../../audit/errors.js';
import { normalizeBucketReference, normalizeKeyReference } from '../../audit/record-index.js';
import { WATERMARK_SQL } from './audit-schema.js';

/** A compiled lookup: SQL with named parameters, fetching limit + 1 rows to detect a next page. */
export interface CompiledLookup {
  sql: string;
  params: Record<string, string | number>;
  limit: number;
}

type Filters = LookupFilters;

// Read inside the lookup statement itself, so the indexed part and the tail come from one
// snapshot: a record is in exactly one of them even while the writer's indexer runs.
const WATERMARK = WATERMARK_SQL;

/** A lookup query checked and turned into SQL fragments and parameters (every layout uses it). */
export interface LookupFilters {
  /** Clauses on audit_records r's columns (name, source, time, error, denial). */
  columns: string[];
  /** Search terms asked for, most selective kinds first; parameters @kind and @kindNeedle. */
  terms: { kind: 'key' | 'bucket' | 'principal'; param: string }[];
  time: boolean;
  before: boolean;
  params: Record<string, string | number>;
  limit: number;
}

/**
 * Checks a lookup query and compiles its filters; raises InvalidAuditQueryError for a bad
 * limit, time range or token. Pure.
 */
export function compileLookup(q: AuditLookupQuery): LookupFilters {
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidAuditQueryError('limit must be 1..1000');
  if (q.startTime && q.endTime && q.startTime > q.endTime) throw new InvalidAuditQueryError('startTime is after endTime');
  const params: Record<string, string | number> = {};
  const f: LookupFilters = { columns: [], terms: [], time: false, before: false, params, limit };
  const column = (clause: string, name?: string, value?: string | number): void => {
    f.columns.push(clause);
    if (name !== undefined && value !== undefined) params[name] = value;
  };
  if (q.eventName !== undefined) column('r.event_name = @name', 'name', q.eventName);
  if (q.eventSource !== undefined) column('r.event_source = @source', 'source', q.eventSource);
  if (q.startTime) column('r.event_ms >= @start', 'start', q.startTime.getTime());
  if (q.endTime) column('r.event_ms <= @end', 'end', q.endTime.getTime());
  f.time = q.startTime !== undefined || q.endTime !== undefined;
  if (q.errorsOnly) column('r.error_code IS NOT NULL');
  if (q.accessDeniedOnly) column('r.access_denied = 1');
  const term = (kind: 'key' | 'bucket' | 'principal', value: string): void => {
    f.terms.push({ kind, param: kind });
    params[kind] = value;
    params[`${kind}Needle`] = JSON.stringify([kind, value]);
  };
  if (q.keyId !== undefined) term('key', normalizeKeyReference(q.keyId));
  if (q.bucket !== undefined) term('bucket', normalizeBucketReference(q.bucket));
  if (q.principal !== undefined) term('principal', q.principal);
  if (q.nextToken !== undefined) {
    params['before'] = parseToken(q.nextToken);
    f.before = true;
  }
  return f;
}

/**
 * Compiles a lookup for a file in an older layout, which only readers see (its writer
 * migrates it to chunks); raises as compileLookup. Per-record layout: the records up to the
 * watermark are found through audit_terms / audit_time, the unindexed tail above it by its
 * columns and its terms column (json_each), and the two are merged newest first with the
 * same paging. The chunk layout is looked up by lookupChunks (audit-lookup-chunks.ts).
 */
export function buildLookup(q: AuditLookupQuery, layout: 'legacy' | 'per-record'): CompiledLookup {
  const f = compileLookup(q);
  const take = f.limit + 1;
  const sql = layout === 'legacy' ? legacySql(f, take) : deferredSql(f, q, take);
  return { sql, params: f.params, limit: f.limit };
}

/**
 * The exact filter on the terms column of audit_records r (the unindexed tail, and the
 * records of a candidate chunk): instr first, so json_each runs only on likely records.
 */
export function termsColumnFilters(f: LookupFilters): string[] {
  return f.terms.map(
    (t) => `instr(r.terms, @${t.param}Needle) > 0 AND EXISTS (SELECT 1 FROM json_each(r.terms) j WHERE j.value ->> 0 = '${t.kind}' AND j.value ->> 1 = @${t.param})`,
  );
}

/** `WHERE a AND b …`, or nothing for no clauses. */
export function where(clauses: readonly string[]): string {
  return clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
}

const termProbe = (kind: string, seq: string): string => `EXISTS (SELECT 1 FROM audit_terms x WHERE x.kind = '${kind}' AND x.value = @${kind} AND x.seq = ${seq})`;

/** A file not yet migrated: every record indexed; names, sources and times by the columns' own indexes. */
function legacySql(f: Filters, take: number): string {
  const clauses = [...f.columns, ...f.terms.map((t) => `r.seq IN (SELECT seq FROM audit_terms WHERE kind = '${t.kind}' AND value = @${t.param})`)];
  if (f.before) clauses.push('r.seq < @before');
  return `SELECT r.seq AS seq, r.event_json AS eventJson FROM audit_records r ${where(clauses)} ORDER BY r.seq DESC LIMIT ${take}`;
}

function deferredSql(f: Filters, q: AuditLookupQuery, take: number): string {
  const before = f.before ? ['r.seq < @before'] : [];
  // The tail: a bounded number of records, scanned by seq from the newest down to the watermark.
  const tailTerms = termsColumnFilters(f);
  const tail = `SELECT r.seq AS seq, r.event_json AS eventJson FROM audit_records r
    ${where([`r.seq > ${WATERMARK}`, ...before, ...f.columns, ...tailTerms])} ORDER BY r.seq DESC LIMIT ${take}`;
  return `SELECT seq, eventJson FROM (
    SELECT * FROM (${tail})
    UNION ALL SELECT * FROM (${indexedSql(f, q, take)})
  ) ORDER BY seq DESC LIMIT ${take}`;
}

/** The indexed part, driven by the most selective index the query allows, walking seqs downwards. */
function indexedSql(f: Filters, q: AuditLookupQuery, take: number): string {
  const before = f.before ? ['r.seq < @before'] : [];
  const select = 'SELECT r.seq AS seq, r.event_json AS eventJson';
  const [driver, ...others] = f.terms;
  const driverTerm =
    driver !== undefined ? { kind: driver.kind, param: driver.param } : q.eventName !== undefined ? { kind: 'name', param: 'name' } : q.eventSource !== undefined ? { kind: 'source', param: 'source' } : undefined;
  if (driverTerm !== undefined) {
    // CROSS JOIN keeps audit_terms outermost: its primary key (kind, value, seq) yields the
    // matching seqs newest first, so LIMIT stops the walk early.
    const clauses = [
      `t.kind = '${driverTerm.kind}'`,
      `t.value = @${driverTerm.param}`,
      `t.seq <= ${WATERMARK}`,
      ...(f.before ? ['t.seq < @before'] : []),
      'r.seq = t.seq',
      ...f.columns,
      ...others.map((t) => termProbe(t.kind, 'r.seq')),
    ];
    return `${select} FROM audit_terms t CROSS JOIN audit_records r ${where(clauses)} ORDER BY t.seq DESC LIMIT ${take}`;
  }
  const clauses = [`r.seq <= ${WATERMARK}`, ...before, ...f.columns];
  if (f.time) {
    const range = [q.startTime ? 'event_ms >= @start' : '', q.endTime ? 'event_ms <= @end' : ''].filter((c) => c !== '');
    clauses.push(`r.seq IN (SELECT seq FROM audit_time WHERE ${range.join(' AND ')})`);
  }
  return `${select} FROM audit_records r ${where(clauses)} ORDER BY r.seq DESC LIMIT ${take}`;
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
