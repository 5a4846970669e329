import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './common/clock.js';
import { createLogger } from './common/logger.js';
import { NATIVE_GCM_NOT_LOADED_LOG, nativeGcmStatus } from './crypto/index.js';
import type { CipherlakeConfig } from './config/config.js';
import { loadRootCredentials, StaticCredentials, type Credential } from './iam/index.js';
import { createIamService, type IamService } from './iam/index.js';
import { cloudTrailPublicKeys, createKmsAccess, type KmsAccess, KeyService, openRootKey, startKeyMaintenance } from './kms/index.js';
import { SqliteIdentityStore } from './store/sqlite/identity-store.js';
import { createEdgeHandler } from './net/edge-router.js';
import { createS3Service } from './s3/index.js';
import { FsObjectBackend } from './store/fs-objects/fs-object-backend.js';
import { sweepOrphanBodies } from './store/fs-objects/orphan-sweep.js';
import { SqliteS3MetadataStore } from './store/sqlite/s3-metadata-store.js';
import { SqliteBucketAccessStore } from './store/sqlite/s3-bucket-access-store.js';
import { privateEndpoints } from './net/endpoints.js';
import { startListeners } from './net/listeners.js';
import { openTls, type TlsSetup } from './net/tls/index.js';
import { SinkEdgeAuditor } from './net/edge-audit.js';
import { kmsCallAuditor } from './net/edge-ec2.js';
import { createVolumeService, NbdServer } from './volumes/index.js';
import { SqliteVolumeStore } from './store/sqlite/volume-store.js';
import type { AuditTrail } from './audit/index.js';
import { openAuditTrail } from './audit-wiring.js';
import type { SqliteAuditStore } from './store/sqlite/audit-store.js';
import { closeSqlite, openSqlite } from './store/sqlite/database.js';
import { lockDataDir } from './store/sqlite/data-dir-lock.js';
import { SqliteKeyStore } from './store/sqlite/key-store.js';

/** A running Cipherlake: its endpoint, the root credentials, and how to stop it. */
export interface RunningCipherlake {
  /** The HTTP endpoint, or the HTTPS one when HTTP is off, or else the first private endpoint. */
  readonly endpoint: string;
  readonly port: number;
  /** The HTTPS endpoint, when HTTPS is on. */
  readonly httpsEndpoint?: string;
  /** Private endpoints: vpce id → URL. */
  readonly endpoints: Readonly<Record<string, string>>;
  readonly credentials: Credential;
  readonly credentialsCreated: boolean;
  readonly config: CipherlakeConfig;
  readonly keys: KeyService;
  /** IAM (identities, access control) and KMS authorization, for parts that call KMS in-process. */
  readonly iam: IamService;
  readonly kmsAccess: KmsAccess;
  /** The NBD listener of attached volumes, when `nbd.enabled`. */
  readonly nbd?: { readonly host: string; readonly port: number };
  readonly log: Logger;
  /**
   * The audit trail every request is recorded in (journaled, then chained into audit.db by its
   * writer thread; in a cluster worker only journaled: the primary's writer thread chains it and
   * the primary signs) and the store (for lookup and verify).
   */
  readonly audit: AuditTrail;
  readonly auditStore: SqliteAuditStore;
  /** Stops listening, finishes in-flight requests, zeroes keys and closes the stores. */
  close(): Promise<void>;
}

/** How often keys due for deletion or rotation are swept (resolve also does it lazily). */
const KEY_MAINTENANCE_INTERVAL_MS = 60_000;

export interface StartOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /**
   * Set in a cluster worker: the primary prepared the data directory, chains every worker's
   * audit journal, indexes it and signs the audit digests (a worker runs no writer thread).
   */
  readonly clusterWorker?: true;
}

/**
 * The composition root: config → stores → parts → listeners. Nothing else lives here.
 * Raises ConfigError / RootKeyConfigError for a configuration it cannot run with, and
 * AuditTrailUnavailableError (naming audit.db and why) before anything listens when this
 * process cannot write its audit trail: it never serves unaudited. Raises DataDirInUseError
 * when another server (not a cluster worker of this one) holds the data directory.
 */
export async function startCipherlake(config: CipherlakeConfig, options: StartOptions = {}): Promise<RunningCipherlake> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // One server per data directory (a cluster's primary holds it for its workers): a second
  // one would take the first's audit journal for a dead process's and chain it away under it.
  const lock = options.clusterWorker === undefined ? lockDataDir(config.dataDir) : undefined;
  let running: RunningCipherlake;
  try {
    running = await startOnDataDir(config, options);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const close = running.close;
  return {
    ...running,
    close: async () => {
      try {
        await close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * Says once per server start when object bodies are not sealed by the native AES-GCM addon
 * (src/crypto/native-gcm/): node:crypto writes the same bytes, at about half the speed.
 */
function logSegmentCipher(log: Logger): void {
  const status = nativeGcmStatus();
  if (status.loaded) return;
  const fields = { reason: status.reason, detail: status.detail };
  if (status.reason === 'disabled') log.info(fields, 'native AES-GCM addon disabled: object bodies are sealed with node:crypto');
  else log.warn(fields, `${NATIVE_GCM_NOT_LOADED_LOG}: object bodies are sealed with node:crypto (same bytes, slower); run npm install to build it`);
}

/** startCipherlake once this process may use the data directory (it exists; the lock is held where one is needed). */
async function startOnDataDir(config: CipherlakeConfig, options: StartOptions): Promise<RunningCipherlake> {
  const log = options.logger ?? createLogger(config.logLevel);
  logSegmentCipher(log);
  const clock = options.clock ?? systemClock;
  const rootKey = openRootKey(config.dataDir, config.rootKey);
  // Serving alone (not a cluster worker), this process holds the data directory's lock and is
  // the only writer of metadata.db: its change counts need not be read back (PublishedCount).
  const db = openSqlite(join(config.dataDir, 'metadata.db'), {
    checkpoints: { warn: (fields, message) => log.warn(fields, message) },
    soleWriter: options.clusterWorker === undefined,
  });
  const store = new SqliteKeyStore(db);
  const keys = new KeyService({
    store,
    rootKey,
    clock,
    settings: { region: config.region, accountId: config.accountId, materialCacheTtlMs: config.kms.materialCacheTtlSeconds * 1000 },
  });
  // Destroys keys whose deletion date passed and rotates keys that are due, even if unused.
  const stopKeyMaintenance = startKeyMaintenance(keys, KEY_MAINTENANCE_INTERVAL_MS, (err, keyId) => log.error({ err, keyId }, 'key maintenance failed'));
  const { credential, created } = loadRootCredentials(config.dataDir, config.accountId, config.rootCredentials);
  const credentials = new StaticCredentials([credential]);
  // IAM users, roles, policies and STS sessions; the edge's credential lookup and KMS authorization use them.
  const iam = createIamService({ store: new SqliteIdentityStore(db), sealer: rootKey, clock, accountId: config.accountId, rootCredentials: credentials, log });
  const kmsAccess = createKmsAccess({ keys, access: iam.access, log });
  // audit.durability (default `process`: WAL + synchronous=NORMAL) — see src/audit/README.md.
  // Every serving process journals its records; one process serving alone chains its journal
  // into audit.db through its own writer thread, a cluster worker leaves its journal to the
  // primary's writer thread (src/audit/README.md, "Several processes").
  // It resolves only once audit.db can be written (by this process's writer thread; a cluster
  // worker checks on a connection of its own); if it cannot
  // (AuditTrailUnavailableError), nothing listens yet: release what is open and fail the start.
  const { store: auditStore, trail: audit } = await openAuditTrail(
    config,
    keys,
    clock,
    log,
    options.clusterWorker !== undefined ? { kind: 'cluster-worker' } : { kind: 'single' },
  ).catch(async (err: unknown) => {
    await stopKeyMaintenance();
    keys.close();
    rootKey.close();
    await closeSqlite(db);
    throw err;
  });
  // S3: every request is authorized through IAM (identity ∧ bucket ∧ endpoint policy); SSE-KMS
  // data keys are authorized as the caller (kms:ViaService) and audited as KMS events invokedBy s3.
  const s3Store = new SqliteS3MetadataStore(db);
  // A cluster worker must not clear tmp/ under its siblings' writes (the primary cleared it before forking).
  // Kept to close its cached directory descriptors once no request can use it any more.
  const backend = new FsObjectBackend(join(config.dataDir, 'objects'), { clearTmp: options.clusterWorker === undefined });
  const s3 = createS3Service({
    store: s3Store,
    bucketAccess: new SqliteBucketAccessStore(db),
    authorizer: iam.access,
    credentials: iam.credentials,
    kmsOnBehalf: {
      region: config.region,
      authorize: (call, action, keyId, context) => kmsAccess.authorizeOnBehalf(call, action, keyId, context),
      ...(config.audit?.enabled === false ? {} : { record: kmsCallAuditor(new SinkEdgeAuditor(audit, config, log), clock) }),
    },
    backend,
    keys,
    clock,
    region: config.region,
    accountId: config.accountId,
    log,
    settings: {
      baseDomains: config.s3?.baseDomains ?? ['localhost'],
      ...(config.s3?.trustedProxyHttpsHeader !== undefined ? { trustedProxyHttpsHeader: config.s3.trustedProxyHttpsHeader } : {}),
    },
  });
  // Body files whose row never committed (a crash between rename and commit), before serving;
  // a cluster worker leaves it to the primary (server-cluster.ts), which sweeps before forking.
  if (options.clusterWorker === undefined) await sweepOrphanBodies(join(config.dataDir, 'objects'), (ids) => s3Store.unreferencedStorageIds(ids), Date.now()).catch((err: unknown) => log.warn({ err }, 'orphan body sweep failed'));
  // EC2 volumes: KMS calls made on a caller's behalf are audited as KMS events invokedBy ec2.amazonaws.com.
  const volumes = createVolumeService({
    store: new SqliteVolumeStore(db),
    keys,
    clock,
    dir: join(config.dataDir, 'volumes'),
    region: config.region,
    accountId: config.accountId,
    log,
    authorize: async (call, action) => (await iam.access.authorize(call, action, '*')).allowed,
    authorizeKmsOnBehalf: (call, action, keyId, context) => kmsAccess.authorizeOnBehalf(call, action, keyId, context),
    ...(config.audit?.enabled === false ? {} : { recordKmsCall: kmsCallAuditor(new SinkEdgeAuditor(audit, config, log), clock) }),
  });
  const handler = createEdgeHandler({
    ec2: volumes,
    s3,
    keys,
    iam,
    region: config.region,
    credentials: iam.credentials,
    clock,
    log,
    // audit.enabled=false (benchmarks only) leaves the trail open for LookupEvents but records nothing.
    ...(config.audit?.enabled === false ? {} : { auditor: new SinkEdgeAuditor(audit, config, log) }),
    auditLookup: {
      lookup: auditStore,
      publicKeys: () => cloudTrailPublicKeys(store),
      // Reading the trail is cloudtrail:LookupEvents, decided by identity policies like any IAM action.
      authorize: async (call, action) => {
        const d = await iam.access.authorize(call, action, '*');
        return d.allowed ? undefined : iam.access.deniedMessage(call, action, '*', d);
      },
    },
    authorizeKms: kmsAccess.authorize,
    health: async () => {
      const s = await store.status();
      return { ok: s.ok, detail: { store: s.detail } };
    },
  });
  const endpoints = privateEndpoints(config.endpoints);
  const tlsHosts = [...(config.https.enabled ? [config.https.host] : []), ...endpoints.filter((e) => e.tls).map((e) => e.host)];
  const tls: TlsSetup | undefined = tlsHosts.length > 0 ? openTls(config.dataDir, config.tls, tlsHosts, clock, log) : undefined;
  const listeners = await startListeners(
    {
      ...(config.http.enabled ? { http: config.http } : {}),
      ...(config.https.enabled ? { https: config.https } : {}),
      endpoints,
      ...(tls !== undefined ? { tls } : {}),
      ...(config.maxConnections !== undefined ? { maxConnections: config.maxConnections } : {}),
    },
    handler,
    log,
  ).catch((err: unknown) => {
    tls?.identity.close();
    throw err;
  });
  const nbdServer = config.nbd?.enabled === true
    ? new NbdServer({ registry: volumes.attachments, host: config.nbd.host, port: config.nbd.port, requireTls: true, tls: { pskCallback: volumes.attachments.pskFor } })
    : undefined;
  const nbd = await nbdServer?.listen().catch(async (err: unknown) => {
    await listeners.close();
    tls?.identity.close();
    throw err;
  });
  if (nbd !== undefined) volumes.setNbdAddress(nbd);
  const endpoint = listeners.http ?? listeners.https ?? Object.values(listeners.endpoints)[0] ?? '';
  const port = Number(new URL(endpoint).port);
  log.info({ endpoint, https: listeners.https, endpoints: listeners.endpoints, region: config.region, dataDir: config.dataDir }, 'cipherlake listening');
  let closed = false;
  return {
    endpoint,
    port,
    ...(listeners.https !== undefined ? { httpsEndpoint: listeners.https } : {}),
    endpoints: listeners.endpoints,
    credentials: credential,
    credentialsCreated: created,
    config,
    keys,
    iam,
    kmsAccess,
    ...(nbd !== undefined ? { nbd } : {}),
    log,
    audit,
    auditStore,
    close: async () => {
      if (closed) return;
      closed = true;
      await listeners.close();
      // No S3 request runs any more: the directory fds it cached can go (their pending fsyncs settle first).
      await backend.close();
      await nbdServer?.close();
      await volumes.close();
      tls?.identity.close();
      await audit.close();
      auditStore.close();
      await stopKeyMaintenance();
      keys.close();
      rootKey.close();
      await closeSqlite(db);
    },
  };
}
