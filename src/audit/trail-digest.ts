import type { ChainHead, LastDigest } from './audit-store.js';
import { GENESIS_HASH, signDigest, type SignedDigest } from './chain.js';
import type { AuditSigner } from './signer.js';

/** A signed digest ready to store, and what the trail remembers of it for the next one. */
export interface NextDigest {
  readonly signed: SignedDigest;
  readonly row: SignedDigest & { fromSeq: number; toSeq: number };
  readonly last: LastDigest;
}

/**
 * Signs the digest that continues the digest chain after `last` up to `head` (src/audit/README.md,
 * "Chain format"): the range starts right after the last digest, starts from its lastHash
 * (GENESIS_HASH for the first) and carries its signature. Returns null when `head` holds no
 * record after `last`. Stores nothing; the signer's errors propagate unchanged.
 */
export async function signNextDigest(signer: AuditSigner, last: LastDigest | null, head: ChainHead, time: Date): Promise<NextDigest | null> {
  const fromSeq = (last?.toSeq ?? 0) + 1;
  if (head.seq < fromSeq) return null;
  const signed = await signDigest(
    {
      digestVersion: 1,
      keyId: signer.keyId,
      fromSeq,
      toSeq: head.seq,
      startPrevHash: last?.lastHash ?? GENESIS_HASH,
      lastHash: head.hash,
      previousDigestSignature: last?.signature ?? null,
      time: time.toISOString(),
    },
    signer,
  );
  return { signed, row: { ...signed, fromSeq, toSeq: head.seq }, last: { toSeq: head.seq, lastHash: head.hash, signature: signed.signature } };
}
