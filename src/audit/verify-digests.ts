import type { KeyObject } from 'node:crypto';
import { parseDigestPayload } from './chain.js';
import type { DigestPayload, SignedDigest } from './chain.js';
import type { AuditProblem } from './problems.js';
import { verifyWithAny } from './signer.js';

/** A digest whose signature verified, with its position among all digests read. */
export interface ValidDigest {
  index: number;
  payload: DigestPayload;
  signature: string;
}

/**
 * Checks each digest's signature and that the valid ones chain (previousDigestSignature,
 * startPrevHash, consecutive ranges). Forged digests are reported and left out of the
 * chain, so an inserted fake does not hide the real ones. Never throws on bad input.
 */
export async function checkDigests(
  digests: Iterable<SignedDigest> | AsyncIterable<SignedDigest>,
  keys: readonly KeyObject[],
): Promise<{ valid: ValidDigest[]; problems: AuditProblem[]; count: number }> {
  const valid: ValidDigest[] = [];
  const problems: AuditProblem[] = [];
  let index = 0;
  for await (const d of digests) {
    const payload = parseDigestPayload(d.payloadJson);
    const signed = verifyWithAny(keys, Buffer.from(d.payloadJson, 'utf8'), Buffer.from(d.signature, 'base64'));
    if (!payload || !signed || payload.toSeq < payload.fromSeq) {
      problems.push({ kind: 'digest-forged', digestIndex: index, ...(payload ? { fromSeq: payload.fromSeq, toSeq: payload.toSeq } : {}) });
    } else {
      const prev = valid.at(-1);
      const linked = prev
        ? payload.previousDigestSignature === prev.signature && payload.fromSeq === prev.payload.toSeq + 1 && payload.startPrevHash === prev.payload.lastHash
        : payload.previousDigestSignature === null && payload.fromSeq === 1;
      if (!linked) {
        const fromSeq = (prev?.payload.toSeq ?? 0) + 1;
        problems.push({ kind: 'digest-missing', digestIndex: index, fromSeq, toSeq: Math.max(fromSeq, payload.fromSeq - 1) });
      }
      valid.push({ index, payload, signature: d.signature });
    }
    index += 1;
  }
  return { valid, problems, count: index };
}
