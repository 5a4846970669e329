/**
 * What an identity store is: IAM users, their access keys, roles, inline and managed
 * policies and their attachments, and STS sessions. Secrets arrive already sealed by the
 * root key; a store never sees a plaintext secret access key or session token.
 * Implementations: SqliteIdentityStore (src/store/sqlite/identity-store.ts).
 */

/** Who an inline policy or an attachment belongs to. */
export type PolicyOwnerKind = 'user' | 'role';

/**
 * A tag on a user or role. IAM compares user and role tag keys case-insensitively (a second key
 * differing only in case replaces the first, which keeps its spelling); values are case-sensitive.
 */
export interface EntityTag {
  readonly key: string;
  readonly value: string;
}

export interface UserRecord {
  readonly userName: string;
  /** `AIDA…`, stable for the user's life. */
  readonly userId: string;
  readonly arn: string;
  readonly path: string;
  readonly createdAt: Date;
  /** Its tags in the order they were first set; [] for none (and for a record stored before tags were kept). */
  readonly tags: readonly EntityTag[];
}

export type AccessKeyStatus = 'Active' | 'Inactive';

export interface AccessKeyRecord {
  readonly accessKeyId: string;
  readonly userName: string;
  readonly status: AccessKeyStatus;
  readonly createdAt: Date;
  /** The secret access key sealed by the root key (label `iam-access-key:<accessKeyId>`). */
  readonly sealedSecret: Buffer;
}

export interface RoleRecord {
  readonly roleName: string;
  /** `AROA…`. */
  readonly roleId: string;
  readonly arn: string;
  readonly path: string;
  readonly createdAt: Date;
  readonly description: string;
  /** The trust policy (AssumeRolePolicyDocument) as JSON text, already validated. */
  readonly trustPolicy: string;
  /** Longest session AssumeRole may grant, 3600–43200 seconds. */
  readonly maxSessionDuration: number;
  /** Its tags in the order they were first set; [] for none (and for a record stored before tags were kept). */
  readonly tags: readonly EntityTag[];
}

/** An inline policy of a user or role: its name and JSON document. */
export interface InlinePolicy {
  readonly policyName: string;
  readonly document: string;
}

export interface ManagedPolicyRecord {
  readonly arn: string;
  readonly policyName: string;
  /** `ANPA…`. */
  readonly policyId: string;
  readonly path: string;
  readonly description: string;
  /** The default version's document: the one evaluation uses. */
  readonly document: string;
  /** `v1`, `v2`, …: which version is the default (a record stored before versions existed reads as `v1`). */
  readonly defaultVersionId: string;
  readonly createdAt: Date;
  /** When the newest version was created (the policy's creation while it has one version), as IAM's UpdateDate. */
  readonly updatedAt: Date;
}

/** One version of a managed policy. Version ids are never reused within a policy. */
export interface PolicyVersionRecord {
  /** `v<N>`, N counting up from 1. */
  readonly versionId: string;
  readonly document: string;
  readonly isDefault: boolean;
  readonly createdAt: Date;
}

/** A user or role a managed policy is attached to. */
export interface PolicyAttachment {
  readonly kind: PolicyOwnerKind;
  readonly owner: string;
}

/** An STS session (temporary credentials from AssumeRole). */
export interface SessionRecord {
  /** `ASIA…`. */
  readonly accessKeyId: string;
  readonly roleName: string;
  readonly roleArn: string;
  readonly roleId: string;
  readonly sessionName: string;
  readonly expiresAt: Date;
  /** JSON `{secret, token}` sealed by the root key (label `sts-session:<accessKeyId>`). */
  readonly sealedSecret: Buffer;
}

/**
 * Persistence for IAM entities. Create methods raise EntityAlreadyExistsError when the
 * name (or id) is taken; get methods return undefined when absent; delete methods return
 * whether something was deleted. No method checks authorization or business rules
 * (quotas, delete conflicts): the operations do (a quota over stored state through a
 * `check` the store runs atomically with its write).
 */
export interface IdentityStore {
  createUser(user: UserRecord): Promise<void>;
  getUser(userName: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<readonly UserRecord[]>;
  deleteUser(userName: string): Promise<boolean>;

  createAccessKey(key: AccessKeyRecord): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>;
  listAccessKeys(userName: string): Promise<readonly AccessKeyRecord[]>;
  setAccessKeyStatus(accessKeyId: string, status: AccessKeyStatus): Promise<boolean>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;

  createRole(role: RoleRecord): Promise<void>;
  getRole(roleName: string): Promise<RoleRecord | undefined>;
  /** Replaces a role's trust policy; false when there is no such role. */
  updateRoleTrustPolicy(roleName: string, trustPolicy: string): Promise<boolean>;
  /** Every role, by name. */
  listRoles(): Promise<readonly RoleRecord[]>;
  /**
   * Replaces a user's or role's tags with what `update` returns for its current ones, in one
   * transaction with the read, so two concurrent tag calls never lose each other's tags or
   * together pass a quota `update` holds; an error `update` raises aborts the write and is
   * raised as it is. Returns the new tags; undefined when there is no such user or role.
   */
  updateTags(kind: PolicyOwnerKind, name: string, update: (current: readonly EntityTag[]) => readonly EntityTag[]): Promise<readonly EntityTag[] | undefined>;
  deleteRole(roleName: string): Promise<boolean>;

  /**
   * Creates or replaces the named inline policy. `check`, when given, is called with the
   * owner's other inline policies (all but the one of this name) in the same transaction as
   * the write, so no concurrent put or delete comes between what it saw and what is written;
   * an error it raises aborts the write and is raised as it is. This is how the operations
   * hold a quota over all of an owner's policies without the store knowing the rule.
   */
  putInlinePolicy(kind: PolicyOwnerKind, owner: string, policyName: string, document: string, check?: (others: readonly InlinePolicy[]) => void): Promise<void>;
  getInlinePolicy(kind: PolicyOwnerKind, owner: string, policyName: string): Promise<string | undefined>;
  listInlinePolicies(kind: PolicyOwnerKind, owner: string): Promise<readonly InlinePolicy[]>;
  deleteInlinePolicy(kind: PolicyOwnerKind, owner: string, policyName: string): Promise<boolean>;

  /** Creates the policy with its document as version `v1`, the default (`policy.defaultVersionId` is not read). */
  createManagedPolicy(policy: ManagedPolicyRecord): Promise<void>;
  getManagedPolicy(arn: string): Promise<ManagedPolicyRecord | undefined>;
  /** Every customer managed policy, by ARN. */
  listManagedPolicies(): Promise<readonly ManagedPolicyRecord[]>;
  /** Deletes the policy and all its versions. */
  deleteManagedPolicy(arn: string): Promise<boolean>;

  /** The policy's versions, newest first; [] when there is no such policy. */
  listPolicyVersions(policyArn: string): Promise<readonly PolicyVersionRecord[]>;
  /**
   * Adds the next version (`v<N+1>` after the highest ever made, so a deleted id is never
   * reused), the default when `setAsDefault` (the policy's document and UpdateDate follow).
   * `check`, when given, sees the existing versions in the same transaction as the write and
   * may raise to abort it (the operations' version quota). Undefined when there is no such policy.
   */
  createPolicyVersion(
    policyArn: string,
    document: string,
    setAsDefault: boolean,
    now: Date,
    check?: (existing: readonly PolicyVersionRecord[]) => void,
  ): Promise<PolicyVersionRecord | undefined>;
  /** Makes an existing version the default (the policy's document follows); false when the policy or version does not exist. */
  setDefaultPolicyVersion(policyArn: string, versionId: string): Promise<boolean>;
  /** Deletes a version that is not the default; false when it does not exist or is the default. */
  deletePolicyVersion(policyArn: string, versionId: string): Promise<boolean>;

  /** Attaches a managed policy; attaching twice is a no-op. */
  attachPolicy(kind: PolicyOwnerKind, owner: string, policyArn: string): Promise<void>;
  detachPolicy(kind: PolicyOwnerKind, owner: string, policyArn: string): Promise<boolean>;
  listAttachedPolicies(kind: PolicyOwnerKind, owner: string): Promise<readonly string[]>;
  /** How many users and roles a managed policy is attached to. */
  countAttachments(policyArn: string): Promise<number>;
  /** The users and roles a managed policy is attached to. */
  listPolicyAttachments(policyArn: string): Promise<readonly PolicyAttachment[]>;

  /**
   * A number that changes whenever an identity record may have changed (users, access keys,
   * roles, policies and their versions and attachments, sessions), by a write through any
   * process sharing the store; NaN while one is being committed (optional). Read before
   * records, it lets a cache keep exactly what the store holds (see ChangeWatch). Cheap and
   * synchronous: it is read per request. Without it, caches fall back to a time bound.
   */
  changeCount?(): number;

  createSession(session: SessionRecord): Promise<void>;
  getSession(accessKeyId: string): Promise<SessionRecord | undefined>;
  /** Removes sessions that expired before `now`; returns how many. */
  deleteExpiredSessions(now: Date): Promise<number>;
}
