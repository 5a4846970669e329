// The index-mismatch check of verifyAudit, without a seq index on audit_terms.
//
// audit_terms is keyed (kind, value, seq) only: a second b-tree by seq cost every appended
// term a second insert (~15% of the audit commit's CPU) just so that verification could
// list a record's terms. Verification instead checks each expected term by primary key,
// counts the term rows of the range once, and only when rows are left over (someone
// inserted or re-pointed a term) walks the terms to name the records they were put on.
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { ChainedRecord } from '../../audit/chain.js';
import { recordIndexOf } from '../../audit/record-index.js';
import type { AuditRecordIndex } from '../../audit/record-index.js';
import type { AuditEvent } from '../../audit/record.js';

const PAGE = 1000;
/** Seq range bounds, both inclusive. */
export interface CheckRange {
  from: number;
  to: number;
}

/**
 * Seqs in `range` whose lookup columns or terms disagree with their event_json, ascending
 * and without duplicates: a missing, changed or extra term, or an edited column.
 * Term rows whose seq has no record are not reported (the chain check reports the
 * deletion). Reads only; never throws on odd stored content (unparsable JSON is a mismatch).
 */
export async function findIndexMismatches(
  db: SqliteDatabase,
  range: CheckRange,
  records: AsyncIterable<ChainedRecord>,
): Promise<number[]> {
  const hasTerm = db.prepare('SELECT 1 FROM audit_terms WHERE kind = ? AND value = ? AND seq = ?').pluck();
  const colStmt = db.prepare(
    'SELECT event_name AS n, event_source AS s, event_ms AS t, error_code AS e, access_denied AS d FROM audit_records WHERE seq = ?',
  );
  const bad = new Set<number>();
  let found = 0;
  for await (const r of records) {
    const index = indexOfJson(r.eventJson);
    const cols = colStmt.get(r.seq);
    if (!index || JSON.stringify(cols) !== JSON.stringify(columnsOf(index))) bad.add(r.seq);
    for (const t of index?.terms ?? []) {
      if (hasTerm.get(t.kind, t.value, r.seq) === undefined) bad.add(r.seq);
      else found += 1;
    }
  }
  const rows = db.prepare('SELECT count(*) FROM audit_terms WHERE seq >= ? AND seq <= ?').pluck().get(range.from, range.to) as number;
  if (rows > found) for (const seq of extraTermSeqs(db, range)) bad.add(seq);
  return [...bad].sort((a, b) => a - b);
}

/** Seqs of records carrying a term their event does not yield; one keyset walk over audit_terms. */
function extraTermSeqs(db: SqliteDatabase, range: CheckRange): Set<number> {
  const page = db.prepare(
    `SELECT kind, value, seq FROM audit_terms WHERE (kind, value, seq) > (?, ?, ?) AND seq >= ? AND seq <= ?
     ORDER BY kind, value, seq LIMIT ${PAGE}`,
  );
  const jsonAt = db.prepare('SELECT event_json FROM audit_records WHERE seq = ?').pluck();
  const expected = new Map<number, Set<string> | null>();
  const termsOf = (seq: number): Set<string> | null => {
    let terms = expected.get(seq);
    if (terms === undefined) {
      const json = jsonAt.get(seq) as string | undefined;
      const index = json === undefined ? undefined : indexOfJson(json);
      // No record: nothing to report here. Unreadable record: already reported.
      terms = index ? new Set(index.terms.map((t) => `${t.kind}\u0000${t.value}`)) : null;
      if (expected.size >= 4096) expected.clear();
      expected.set(seq, terms);
    }
    return terms;
  };
  const out = new Set<number>();
  let after: [string, string, number] = ['', '', -1];
  for (;;) {
    const rows = page.all(...after, range.from, range.to) as { kind: string; value: string; seq: number }[];
    for (const t of rows) {
      const terms = termsOf(t.seq);
      if (terms && !terms.has(`${t.kind}\u0000${t.value}`)) out.add(t.seq);
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return out;
    after = [last.kind, last.value, last.seq];
  }
}

function indexOfJson(json: string): AuditRecordIndex | null {
  try {
    return recordIndexOf(JSON.parse(json) as AuditEvent);
  } catch {
    return null;
  }
}

function columnsOf(x: AuditRecordIndex): { n: string; s: string; t: number; e: string | null; d: number } {
  return { n: x.eventName, s: x.eventSource, t: x.eventMs, e: x.errorCode, d: x.accessDenied ? 1 : 0 };
}
