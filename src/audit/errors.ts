import { CipherlakeError } from '../common/errors.js';

/** An append or flush was attempted after `close()`. Internal: the caller's lifecycle is wrong. */
export class AuditSinkClosedError extends CipherlakeError {
  readonly userError = false;
  constructor() {
    super('audit sink is closed');
  }
}

/**
 * The store could not commit a batch of audit records. Every `append` in that batch is
 * rejected with this error, so no request is acknowledged as audited when it was not.
 */
export class AuditCommitError extends CipherlakeError {
  readonly userError = false;
  constructor(options?: { cause?: unknown }) {
    super('audit records could not be committed', options);
  }
}

/** An audit value is not representable in canonical JSON (for example a non-finite number). */
export class AuditEncodingError extends CipherlakeError {
  readonly userError = false;
}

/** A lookup query is malformed (bad next token, inverted time range, bad limit). */
export class InvalidAuditQueryError extends CipherlakeError {
  readonly userError = true;
}

/** An exported directory cannot be read as a Cipherlake CloudTrail export. */
export class InvalidAuditExportError extends CipherlakeError {
  readonly userError = true;
}

/**
 * The store's head is behind its own last signed digest: records were truncated. The
 * trail refuses to open rather than reuse seqs; run `verifyAudit` to see what is missing.
 */
export class AuditStoreTruncatedError extends CipherlakeError {
  readonly userError = false;
  constructor(headSeq: number, signedSeq: number) {
    super(`audit store head ${headSeq} is behind its last digest ${signedSeq}`);
  }
}
