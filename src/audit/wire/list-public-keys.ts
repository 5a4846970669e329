import { CloudTrailRequestError } from './errors.js';
import { checkScalar, timeOf } from './lookup-events.js';

/** A key that signs exported CloudTrail digest files, as the server holds it (structurally the KMS's CloudTrailPublicKey). */
export interface DigestPublicKey {
  /** PKCS#1 RSAPublicKey DER. */
  readonly value: Buffer;
  readonly fingerprint: string;
  readonly validFrom: Date;
}

/** A parsed ListPublicKeys request: the time range asked for, and what its record keeps of it. */
export interface ListPublicKeysRequest {
  readonly start: Date | undefined;
  readonly end: Date | undefined;
  readonly auditParameters: Record<string, string>;
}

/**
 * Parses a ListPublicKeys body as CloudTrail does: StartTime and EndTime are timestamps
 * (SerializationException for another JSON type), StartTime after EndTime is
 * InvalidTimeRangeException, and a NextToken is InvalidTokenException (every answer here
 * is one page, so no token was ever handed out).
 */
export function parseListPublicKeys(body: Record<string, unknown>): ListPublicKeysRequest {
  checkScalar(body['StartTime'], 'a Timestamp');
  checkScalar(body['EndTime'], 'a Timestamp');
  checkScalar(body['NextToken'], 'a String');
  const start = timeOf(body['StartTime'], 'StartTime');
  const end = timeOf(body['EndTime'], 'EndTime');
  if (start !== undefined && end !== undefined && start > end) throw new CloudTrailRequestError('InvalidTimeRangeException', 'StartTime must be before EndTime');
  const token = body['NextToken'];
  if (token !== undefined && token !== null) throw new CloudTrailRequestError('InvalidTokenException', 'Invalid NextToken');
  const auditParameters: Record<string, string> = {};
  if (start !== undefined) auditParameters['startTime'] = start.toISOString();
  if (end !== undefined) auditParameters['endTime'] = end.toISOString();
  return { start, end, auditParameters };
}

/**
 * The answer: each key whose validity (from its creation, through now: these keys do not
 * expire) overlaps the range asked for, as CloudTrail's PublicKey shape (Value base64 as a
 * JSON 1.1 blob, validity times in epoch seconds).
 */
export function listPublicKeysBody(keys: readonly DigestPublicKey[], request: ListPublicKeysRequest, now: Date): Record<string, unknown> {
  const from = request.start?.getTime() ?? -Infinity;
  const to = request.end?.getTime() ?? now.getTime();
  const listed = keys.filter((k) => k.validFrom.getTime() <= to && now.getTime() >= from);
  return {
    PublicKeyList: listed.map((k) => ({
      Value: k.value.toString('base64'),
      ValidityStartTime: k.validFrom.getTime() / 1000,
      ValidityEndTime: Math.max(now.getTime(), k.validFrom.getTime()) / 1000,
      Fingerprint: k.fingerprint,
    })),
  };
}
