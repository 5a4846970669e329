/** Why a verification is not intact; each names exactly where. */
export type AuditProblem =
  /** The stored content of `seq` no longer hashes to its stored hash: edited in place. */
  | { kind: 'record-modified'; seq: number }
  /** Seqs missing from the middle of the trail. */
  | { kind: 'records-deleted'; fromSeq: number; toSeq: number }
  /** The records stored at these two seqs belong at each other's place. */
  | { kind: 'records-swapped'; seqs: [number, number] }
  /** The record stored at `seq` is intact but belongs at `belongsAt`. */
  | { kind: 'record-misplaced'; seq: number; belongsAt: number }
  /**
   * `seq` is self-consistent but does not follow the stored record before it: a record at
   * or before seq - 1 was rewritten with its hash recomputed, or `seq` was replaced.
   */
  | { kind: 'chain-break'; seq: number }
  /** Lookup columns / search terms of `seq` disagree with its record (lookups would lie). */
  | { kind: 'index-mismatch'; seq: number }
  /** A digest whose signature does not verify under the given keys, or that cannot be parsed. */
  | { kind: 'digest-forged'; digestIndex: number; fromSeq?: number; toSeq?: number }
  /** Valid digests do not chain: digests covering `fromSeq..toSeq` are missing. */
  | { kind: 'digest-missing'; digestIndex: number; fromSeq: number; toSeq: number }
  /** A validly signed digest's lastHash differs from the stored hash of its toSeq: records up to toSeq were rewritten. */
  | { kind: 'digest-mismatch'; digestIndex: number; fromSeq: number; toSeq: number }
  /** Records after the last present one were removed; `evidence` says what proves they existed. */
  | { kind: 'tail-truncated'; fromSeq: number; toSeq: number; evidence: ('digest' | 'head')[] }
  /** Export only: a log file named by a digest is absent. */
  | { kind: 'log-file-missing'; path: string; fromSeq: number; toSeq: number }
  /** Export only: a log file's bytes differ from the hash in its digest file. */
  | { kind: 'log-file-modified'; path: string }
  /** Export only: a log file that no valid digest names (injected, or its digest file was removed). */
  | { kind: 'log-file-unlisted'; path: string }
  /** Export only: a record in a log file that belongs to no listed hash. */
  | { kind: 'record-inserted'; path: string; afterSeq: number };

/** One line per problem, for a CLI or a log. */
export function describeProblem(p: AuditProblem): string {
  switch (p.kind) {
    case 'record-modified':
      return `record ${p.seq} was modified`;
    case 'records-deleted':
      return p.fromSeq === p.toSeq ? `record ${p.fromSeq} was deleted` : `records ${p.fromSeq}..${p.toSeq} were deleted`;
    case 'records-swapped':
      return `records ${p.seqs[0]} and ${p.seqs[1]} were swapped`;
    case 'record-misplaced':
      return `record stored at ${p.seq} belongs at ${p.belongsAt}`;
    case 'chain-break':
      return `chain breaks before record ${p.seq} (a record up to ${p.seq - 1} was rewritten and rehashed, or ${p.seq} was replaced)`;
    case 'index-mismatch':
      return `lookup columns of record ${p.seq} were modified`;
    case 'digest-forged':
      return `digest #${p.digestIndex}${p.toSeq === undefined ? '' : ` (records ${p.fromSeq}..${p.toSeq})`} has an invalid signature`;
    case 'digest-missing':
      return `digests covering records ${p.fromSeq}..${p.toSeq} are missing (before digest #${p.digestIndex})`;
    case 'digest-mismatch':
      return `records ${p.fromSeq}..${p.toSeq} do not match signed digest #${p.digestIndex}: rewritten`;
    case 'tail-truncated':
      return `records ${p.fromSeq}..${p.toSeq} were truncated from the tail (evidence: ${p.evidence.join(', ')})`;
    case 'log-file-missing':
      return `log file ${p.path} (records ${p.fromSeq}..${p.toSeq}) is missing`;
    case 'log-file-modified':
      return `log file ${p.path} was modified`;
    case 'log-file-unlisted':
      return `log file ${p.path} is not covered by any valid digest`;
    case 'record-inserted':
      return `log file ${p.path} holds a record inserted after ${p.afterSeq}`;
    default: {
      const never: never = p;
      return never;
    }
  }
}
