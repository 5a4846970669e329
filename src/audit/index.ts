// The audit part's public API. Other parts import only from here.
export type { JsonValue } from './canonical-json.js';
export { canonicalJson } from './canonical-json.js';
export {
  ACCESS_DENIED_ERROR_CODES,
  ALL_AUDIT_LEVELS,
  AUDIT_EVENT_VERSION,
  auditLevelOf,
  formatEventTime,
  isAccessDenied,
  newAuditEvent,
} from './record.js';
export type {
  AuditEvent,
  AuditEventInput,
  AuditEventSource,
  AuditLevel,
  AuditParameters,
  AuditResource,
  AuditSessionContext,
  AuditTlsDetails,
  AuditUserIdentity,
} from './record.js';
export { REDACTED_FIELD_NAMES, isRedactedFieldName, redactParameters, sanitizeEvent } from './redact.js';
export type { Redaction } from './redact.js';
export { CHAIN_FORMAT_VERSION, GENESIS_HASH, chainRecord, recordHash } from './chain.js';
export type { ChainedRecord, DigestPayload, SignedDigest } from './chain.js';
export { AUDIT_SIGNATURE_ALGORITHM, LocalAuditSigner, publicKeyFingerprint } from './signer.js';
export type { AuditPublicKey, AuditSigner } from './signer.js';
export { MemoryAuditSink } from './sink.js';
export type { AppendReceipt, AuditSink } from './sink.js';
export { AuditTrail } from './trail.js';
export { encodeAuditEvent } from './encode-event.js';
export type { EncodedAuditEvent, EncodedWithRedactions } from './encode-event.js';
export type { AuditTrailOptions, AuditTrailStats } from './trail.js';
export type {
  AuditChainWriter,
  AuditLookupPage,
  CommittedAuditBatch,
  AuditLookupQuery,
  AuditRecordSource,
  AuditRecordToStore,
  AuditStore,
  ChainHead,
  LastDigest,
  SeqRange,
} from './audit-store.js';
export { indexTermsOf, isTermParameterName, normalizeBucketReference, normalizeKeyReference, recordIndexOf } from './record-index.js';
export type { AuditRecordIndex, AuditTerm, AuditTermKind } from './record-index.js';
export { describeProblem } from './problems.js';
export type { AuditProblem } from './problems.js';
export { verifyAudit } from './verify.js';
export type { AuditVerifyOptions, AuditVerifyReport } from './verify.js';
export {
  AuditCommitError,
  AuditEncodingError,
  AuditSinkClosedError,
  AuditStoreTruncatedError,
  InvalidAuditExportError,
  InvalidAuditQueryError,
} from './errors.js';
export { exportAuditTrail } from './export.js';
export type { AuditExportOptions, AuditExportResult, CloudTrailDigestSigner } from './export.js';
export { readAuditExport, verifyAuditExport } from './export-verify.js';
export type { ExportedDigestFile, ExportedLogFile, ExportedRecordHash } from './export-format.js';
