import type { KeyObject } from 'node:crypto';
import type { AuditRecordSource, SeqRange } from './audit-store.js';
import { GENESIS_HASH, recordHash } from './chain.js';
import type { ChainedRecord } from './chain.js';
import { checkDigests } from './verify-digests.js';
import type { ValidDigest } from './verify-digests.js';
import type { AuditProblem } from './problems.js';
import { toPublicKey } from './signer.js';
import type { AuditPublicKey } from './signer.js';

/** What to verify. A partial range skips the link check of its first record and the tail check. */
export interface AuditVerifyOptions extends SeqRange {
  /** Also compare lookup columns with records when the source keeps any (default true). */
  checkIndex?: boolean;
}

/** The outcome of a verification. `intact` is true exactly when `problems` is empty. */
export interface AuditVerifyReport {
  intact: boolean;
  problems: AuditProblem[];
  recordsChecked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  digestsChecked: number;
  /** Highest toSeq covered by a valid, chained digest (0 when none). */
  lastSignedSeq: number;
  /** Records after the last valid digest: present and chained, but not yet signed. Not a problem. */
  unsignedTail: { fromSeq: number; toSeq: number } | null;
}

interface Failing {
  row: ChainedRecord;
  selfOk: boolean;
  linkOk: boolean;
}

/**
 * Verifies a trail (a store, or records and digests read back from an export) with only
 * the public key(s): record hashes, the links between records, seq gaps, digest
 * signatures and their chain, signed hashes against stored ones, the tail against the
 * last digest and the persisted head counter, and (for stores) the lookup columns.
 * Never throws for tampered data: every finding becomes an `AuditProblem`. Source errors
 * (I/O) propagate.
 */
export async function verifyAudit(
  source: AuditRecordSource,
  publicKey: AuditPublicKey | readonly AuditPublicKey[],
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyReport> {
  const keys: KeyObject[] = (Array.isArray(publicKey) ? publicKey : [publicKey]).map((k: AuditPublicKey) => toPublicKey(k));
  const range: SeqRange = { ...(options.fromSeq === undefined ? {} : { fromSeq: options.fromSeq }), ...(options.toSeq === undefined ? {} : { toSeq: options.toSeq }) };
  const digestCheck = await checkDigests(source.digests(), keys);
  const problems: AuditProblem[] = [...digestCheck.problems];
  const scan = await scanRecords(source, range, new Set(digestCheck.valid.map((d) => d.payload.toSeq)));
  problems.push(...scan.problems);
  if (scan.failing.length > 0) {
    const hashSeq = await seqsOfHashes(source, new Set(scan.failing.map((f) => f.row.prevHash)));
    problems.push(...classify(scan.failing, hashSeq));
  }
  problems.push(...digestMismatches(digestCheck.valid, scan.hashAt, range));
  const lastSignedSeq = digestCheck.valid.at(-1)?.payload.toSeq ?? 0;
  if (options.toSeq === undefined) {
    const truncation = tailTruncation(scan.lastSeq ?? (range.fromSeq ?? 1) - 1, lastSignedSeq, (await source.headSeq?.()) ?? null);
    if (truncation) problems.push(truncation);
  }
  if ((options.checkIndex ?? true) && source.indexMismatches) {
    for (const seq of await source.indexMismatches(range)) problems.push({ kind: 'index-mismatch', seq });
  }
  const tailFrom = lastSignedSeq + 1;
  return {
    intact: problems.length === 0,
    problems,
    recordsChecked: scan.count,
    firstSeq: scan.firstSeq,
    lastSeq: scan.lastSeq,
    digestsChecked: digestCheck.count,
    lastSignedSeq,
    unsignedTail: scan.lastSeq !== null && scan.lastSeq >= tailFrom ? { fromSeq: tailFrom, toSeq: scan.lastSeq } : null,
  };
}

async function scanRecords(source: AuditRecordSource, range: SeqRange, wantHashAt: ReadonlySet<number>) {
  const problems: AuditProblem[] = [];
  const failing: Failing[] = [];
  const hashAt = new Map<number, string>();
  let prev: ChainedRecord | null = null;
  let expected = range.fromSeq ?? 1;
  let count = 0;
  let firstSeq: number | null = null;
  for await (const row of source.records(range)) {
    firstSeq ??= row.seq;
    count += 1;
    const gap = row.seq > expected;
    if (gap) problems.push({ kind: 'records-deleted', fromSeq: expected, toSeq: row.seq - 1 });
    const selfOk = hashMatches(row);
    let linkOk = true;
    if (row.seq === 1) linkOk = row.prevHash === GENESIS_HASH;
    else if (prev && !gap) linkOk = row.prevHash === prev.hash;
    if (!selfOk || !linkOk) failing.push({ row, selfOk, linkOk });
    if (wantHashAt.has(row.seq)) hashAt.set(row.seq, row.hash);
    prev = row;
    expected = row.seq + 1;
  }
  return { problems, failing, hashAt, count, firstSeq, lastSeq: prev?.seq ?? null };
}

function hashMatches(row: ChainedRecord, seq = row.seq, prevHash = row.prevHash, hash = row.hash): boolean {
  try {
    return recordHash(prevHash, seq, row.eventJson) === hash;
  } catch {
    return false; // a prevHash that is not 64 hex digits was tampered with too
  }
}

async function seqsOfHashes(source: AuditRecordSource, wanted: ReadonlySet<string>): Promise<Map<string, number>> {
  const found = new Map<string, number>([[GENESIS_HASH, 0]]);
  for await (const row of source.records()) if (wanted.has(row.hash)) found.set(row.hash, row.seq);
  return found;
}

/** Turns failing rows into swapped / misplaced / modified / chain-break findings. */
function classify(failing: readonly Failing[], hashSeq: ReadonlyMap<string, number>): AuditProblem[] {
  const belongs = new Map<number, number>(); // stored seq -> seq its content belongs at
  const trueHashAt = new Map<number, string>();
  for (const f of failing) {
    const place = placeOf(f, failing, hashSeq);
    if (place) {
      belongs.set(f.row.seq, place.seq);
      trueHashAt.set(place.seq, place.hash);
    }
  }
  const problems: AuditProblem[] = [];
  const explained = new Set<number>();
  for (const [seq, at] of belongs) {
    if (explained.has(seq)) continue;
    explained.add(seq);
    if (belongs.get(at) === seq) {
      explained.add(at);
      problems.push({ kind: 'records-swapped', seqs: [Math.min(seq, at), Math.max(seq, at)] });
    } else problems.push({ kind: 'record-misplaced', seq, belongsAt: at });
  }
  for (const f of failing) {
    if (explained.has(f.row.seq)) continue;
    if (!f.selfOk) problems.push({ kind: 'record-modified', seq: f.row.seq });
    else if (trueHashAt.get(f.row.seq - 1) !== f.row.prevHash) problems.push({ kind: 'chain-break', seq: f.row.seq });
  }
  return problems;
}

/** Where a failing row's content verifies, other than its own seq: moved whole, or content moved alone. */
function placeOf(f: Failing, failing: readonly Failing[], hashSeq: ReadonlyMap<string, number>): { seq: number; hash: string } | null {
  const before = hashSeq.get(f.row.prevHash);
  if (before !== undefined && before + 1 !== f.row.seq && hashMatches(f.row, before + 1)) {
    return { seq: before + 1, hash: f.row.hash };
  }
  if (failing.length > 256) return null; // pairwise search only for a handful of tampered rows
  for (const g of failing) {
    if (g === f) continue;
    if (hashMatches(f.row, g.row.seq)) return { seq: g.row.seq, hash: f.row.hash }; // whole row moved
    if (!g.selfOk && hashMatches(f.row, g.row.seq, g.row.prevHash, g.row.hash)) return { seq: g.row.seq, hash: g.row.hash }; // content moved
  }
  return null;
}

function digestMismatches(valid: readonly ValidDigest[], hashAt: ReadonlyMap<number, string>, range: SeqRange): AuditProblem[] {
  const out: AuditProblem[] = [];
  for (const d of valid) {
    const { fromSeq, toSeq, lastHash } = d.payload;
    if (toSeq < (range.fromSeq ?? 1) || toSeq > (range.toSeq ?? Infinity)) continue;
    const stored = hashAt.get(toSeq);
    // an absent toSeq row is already reported as deleted or truncated
    if (stored !== undefined && stored !== lastHash) out.push({ kind: 'digest-mismatch', digestIndex: d.index, fromSeq, toSeq });
  }
  return out;
}

function tailTruncation(lastPresent: number, lastSigned: number, head: number | null): AuditProblem | null {
  const evidence: ('digest' | 'head')[] = [];
  if (lastSigned > lastPresent) evidence.push('digest');
  if (head !== null && head > lastPresent) evidence.push('head');
  if (evidence.length === 0) return null;
  return { kind: 'tail-truncated', fromSeq: lastPresent + 1, toSeq: Math.max(lastSigned, head ?? 0), evidence };
}
