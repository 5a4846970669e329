import { randomBytes } from 'node:crypto';
import { echoed } from '../../common/bounded-echo.js';
import { SecretBytes } from '../../crypto/index.js';
import { IamValidationError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import type { RoleRecord, SessionRecord } from '../identity-store.js';
import type { Principal } from '../principals.js';
import { newAccessKeyId, newSecretAccessKey } from '../root-credentials.js';

/** AssumeRole's DurationSeconds bounds, and the cap AWS puts on role chaining. */
export const MIN_SESSION_SECONDS = 900;
export const DEFAULT_SESSION_SECONDS = 3600;
export const ROLE_CHAINING_MAX_SECONDS = 3600;

/** Temporary credentials as AssumeRole returns them (the only time the secret and token leave). */
export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly assumedRoleArn: string;
  readonly assumedRoleId: string;
}

/** The root-key label that binds a sealed session secret to its access key id. */
export function sessionLabel(accessKeyId: string): string {
  return `sts-session:${accessKeyId}`;
}

/** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` */
export function assumedRoleArn(accountId: string, roleName: string, sessionName: string): string {
  return `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
}

/** The principal of a session record. */
export function sessionPrincipal(accountId: string, s: Pick<SessionRecord, 'roleName' | 'roleArn' | 'roleId' | 'sessionName'>): Principal {
  return {
    type: 'AssumedRole',
    arn: assumedRoleArn(accountId, s.roleName, s.sessionName),
    accountId,
    principalId: `${s.roleId}:${s.sessionName}`,
    roleArn: s.roleArn,
    sessionName: s.sessionName,
  };
}

/** STS's text pattern for ARNs (tab, newline, CR and printable characters, no lone surrogate). */
const ARN_TEXT = /^[\t\n\r\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u;

/** RoleArn's constraint violations, in STS's order: the pattern, then the length. */
function roleArnProblems(arn: string): string[] {
  const problems: string[] = [];
  const pattern = '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+';
  if (!ARN_TEXT.test(arn)) problems.push(`Value '${echoed(arn)}' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern}`);
  if (arn.length < 20 || arn.length > 2048) {
    problems.push(`Value '${echoed(arn)}' at 'roleArn' failed to satisfy constraint: Member must have length ${arn.length < 20 ? 'greater than or equal to 20' : 'less than or equal to 2048'}`);
  }
  return problems;
}

/**
 * Checks AssumeRole's parameters against their API constraints (RoleArn 20 to 2048
 * characters of STS's text pattern, RoleSessionName 2 to 64 of `[\w+=,.@-]`,
 * DurationSeconds 900 to 43200), which STS checks before it authorizes: a malformed request
 * is ValidationError whoever sends it, one message counting every problem in member order
 * (as STS answers: "2 validation errors detected: Value '' at 'roleArn' …", quoted in
 * newscorpaus/consigliere#18 and mmmorris1975/aws-runas#80). Raises IamValidationError;
 * never looks anything up.
 */
export function checkAssumeRoleRequest(req: { roleArn: string; roleSessionName: string; durationSeconds?: number }): void {
  const problems: string[] = roleArnProblems(req.roleArn);
  const name = req.roleSessionName;
  if (name.length < 2 || name.length > 64) {
    problems.push(`Value '${echoed(name)}' at 'roleSessionName' failed to satisfy constraint: Member must have length ${name.length < 2 ? 'greater than or equal to 2' : 'less than or equal to 64'}`);
  } else if (!/^[\w+=,.@-]*$/.test(name)) {
    problems.push(`Value '${echoed(name)}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
  }
  const seconds = req.durationSeconds;
  if (seconds !== undefined && (seconds < MIN_SESSION_SECONDS || seconds > 43200)) {
    problems.push(`Value '${seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between ${MIN_SESSION_SECONDS} and 43200`);
  }
  if (problems.length > 0) throw new IamValidationError(`${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`);
}

function checkDuration(role: RoleRecord, caller: Principal, requested: number | undefined): number {
  const seconds = requested ?? DEFAULT_SESSION_SECONDS;
  const max = caller.type === 'AssumedRole' ? ROLE_CHAINING_MAX_SECONDS : role.maxSessionDuration;
  if (seconds < MIN_SESSION_SECONDS || seconds > 43200) {
    throw new IamValidationError(`1 validation error detected: Value '${seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between ${MIN_SESSION_SECONDS} and 43200`);
  }
  if (seconds > max) {
    throw new IamValidationError(`The requested DurationSeconds exceeds the ${caller.type === 'AssumedRole' ? '1 hour session limit for roles assumed by role chaining' : 'MaxSessionDuration set for this role'}.`);
  }
  return seconds;
}

/**
 * Issues temporary credentials for a role the caller is already authorized to assume
 * (trust policy and identity policy are the authorizer's job). The secret and token are
 * stored only sealed by the root key. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 * Raises IamValidationError for a bad session name or duration.
 */
export async function assumeRole(
  deps: IamDeps,
  caller: Principal,
  role: RoleRecord,
  req: { roleSessionName: string; durationSeconds?: number },
): Promise<TemporaryCredentials> {
  if (!/^[\w+=,.@-]{2,64}$/.test(req.roleSessionName)) {
    throw new IamValidationError(`1 validation error detected: Value '${echoed(req.roleSessionName)}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
  }
  const seconds = checkDuration(role, caller, req.durationSeconds);
  const accessKeyId = newAccessKeyId('ASIA');
  const secretAccessKey = newSecretAccessKey();
  const sessionToken = randomBytes(96).toString('base64');
  const expiration = new Date(deps.clock.now().getTime() + seconds * 1000);
  const sealed = await deps.sealer.wrap(SecretBytes.adopt(Buffer.from(JSON.stringify({ secret: secretAccessKey, token: sessionToken }), 'utf8')), sessionLabel(accessKeyId));
  const session: SessionRecord = {
    accessKeyId,
    roleName: role.roleName,
    roleArn: role.arn,
    roleId: role.roleId,
    sessionName: req.roleSessionName,
    expiresAt: expiration,
    sealedSecret: sealed,
  };
  await deps.store.createSession(session);
  return {
    accessKeyId,
    secretAccessKey,
    sessionToken,
    expiration,
    assumedRoleArn: assumedRoleArn(deps.accountId, role.roleName, req.roleSessionName),
    assumedRoleId: `${role.roleId}:${req.roleSessionName}`,
  };
}
