import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { CipherlakeError } from '../common/errors.js';
import { parsePolicy } from '../iam/policy/index.js';
import { isCertificateName } from '../net/tls/built-in-ca.js';

/** A configuration value is missing, malformed or unsafe. */
export class ConfigError extends CipherlakeError {
  readonly userError = true;
}

/** How much an acknowledged audit event survives: the process being killed, or a power loss too. */
export type AuditDurability = 'process' | 'power';

/** The whole configuration, after defaults, file, environment and flags are merged. */
export interface CipherlakeConfig {
  readonly dataDir: string;
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
  /** The HTTPS listener (same edge as HTTP); its host defaults to the HTTP host. */
  readonly https: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly tls: TlsSettings;
  /** Private endpoints (VPC interface endpoint analogues), each its own listener. */
  readonly endpoints: readonly EndpointSettings[];
  readonly region: string;
  readonly accountId: string;
  readonly rootKey: { readonly kind: 'file'; readonly path?: string } | { readonly kind: 'passphrase'; readonly passphrase: string };
  readonly logLevel: string;
  readonly kms: { readonly materialCacheTtlSeconds: number };
  /**
   * Audit trail settings; absent means enabled. `enabled: false` records nothing (benchmarks,
   * disposable labs). `durability`: `process` (default) — an acknowledged event survives the
   * process being killed (kill -9: it is in the process's audit journal before the answer), a
   * power loss may lose the latest records; `power` — each batch is fdatasync'd in the journal
   * (and audit.db runs SQLite synchronous=FULL) and survives power loss too, at a disk flush
   * per batch.
   */
  readonly audit?: { readonly enabled: boolean; readonly durability?: AuditDurability };
  /** Fixed root credentials instead of generated ones. */
  readonly rootCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** S3 endpoint settings; absent means the defaults (virtual hosts under `localhost`, no trusted proxy). */
  readonly s3?: S3Settings;
  /** The NBD server for attached volumes; absent means the defaults (on, 127.0.0.1:10809). */
  readonly nbd?: NbdSettings;
  /**
   * Connections each HTTP(S) listener (each private endpoint, each cluster worker) holds at
   * once; one more is closed as soon as it is accepted. Absent means DEFAULT_MAX_CONNECTIONS.
   */
  readonly maxConnections?: number;
}

/**
 * Connections one listener holds at once by default (each private endpoint and each cluster
 * worker counts its own): well under the descriptors a node process may usually open (node
 * raises its soft limit to the hard one, often 20 000 or more). One more connection is
 * accepted and closed at once, before TLS or any byte is read, so a flood of connections
 * can exhaust neither descriptors nor memory, and the connections already open are served as before.
 */
export const DEFAULT_MAX_CONNECTIONS = 4096;
/** The largest `maxConnections` accepted: more than any one process can hold usefully, and a typo's guard. */
const MAX_MAX_CONNECTIONS = 1_000_000;

/** The NBD listener that exports attached volumes (TLS-PSK required, always). */
export interface NbdSettings {
  readonly enabled: boolean;
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

/** S3 settings. */
export interface S3Settings {
  /** Host suffixes that make a request virtual-hosted style (`bucket.<domain>`); default ['localhost']. */
  readonly baseDomains?: readonly string[];
  /**
   * A header that a trusted TLS-terminating proxy sets to `https` when the client's own
   * connection was HTTPS (e.g. `x-forwarded-proto`). Only set it when every request comes
   * through that proxy: SSE-C is accepted on that word.
   */
  readonly trustedProxyHttpsHeader?: string;
}

/** Server certificate and client certificate settings shared by every TLS listener. */
export interface TlsSettings {
  /** Extra names (DNS names or IPs) for the built-in server certificate, besides localhost, 127.0.0.1 and ::1. */
  readonly names: readonly string[];
  /** Key type of the built-in CA and server certificate. */
  readonly keyAlgorithm: 'ec-p256' | 'rsa-2048';
  /** A user-supplied certificate chain and key (PEM) instead of the built-in CA; both or neither. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** How often user-supplied files are checked for changes (seconds, may be fractional). */
  readonly reloadIntervalSeconds: number;
  /** CA certificates (PEM file) trusted for client certificates; enables mutual TLS. */
  readonly clientCa?: string;
  /** Refuse connections without a valid client certificate (needs clientCa). */
  readonly requireClientCert: boolean;
}

/** One private endpoint: a listener with a `vpce-…` id and an optional endpoint policy. */
export interface EndpointSettings {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The endpoint policy document (JSON text), already checked to parse. */
  readonly policy?: string;
}

/** Safe embedded defaults: loopback only, data in ./.cipherlake, a root key file created on first start. */
export const DEFAULT_CONFIG: CipherlakeConfig = {
  dataDir: './.cipherlake',
  http: { enabled: true, host: '127.0.0.1', port: 9080 },
  https: { enabled: true, host: '127.0.0.1', port: 9443 },
  tls: { names: [], keyAlgorithm: 'ec-p256', reloadIntervalSeconds: 5, requireClientCert: false },
  endpoints: [],
  region: 'us-east-1',
  accountId: '000000000000',
  rootKey: { kind: 'file' },
  logLevel: 'info',
  kms: { materialCacheTtlSeconds: 300 },
  nbd: { enabled: true, host: '127.0.0.1', port: 10809 },
  maxConnections: DEFAULT_MAX_CONNECTIONS,
};

/** Options given on the command line (all optional). */
export interface ConfigFlags {
  readonly config?: string;
  readonly dataDir?: string;
  readonly host?: string;
  readonly port?: number;
  readonly httpsPort?: number;
  readonly region?: string;
  readonly accountId?: string;
  readonly logLevel?: string;
  readonly maxConnections?: number;
}

/** The file's shape: every field optional, same names as CipherlakeConfig. */
type ConfigFile = {
  dataDir?: string;
  http?: Partial<CipherlakeConfig['http']>;
  https?: Partial<CipherlakeConfig['https']>;
  tls?: Partial<TlsSettings>;
  endpoints?: Array<{ id?: unknown; host?: unknown; port?: unknown; tls?: unknown; policy?: unknown }>;
  region?: string;
  accountId?: string;
  rootKey?: { kind?: 'file' | 'passphrase'; path?: string; passphraseEnv?: string };
  logLevel?: string;
  kms?: Partial<CipherlakeConfig['kms']>;
  audit?: { enabled?: unknown; durability?: unknown };
  s3?: S3Settings;
  nbd?: Partial<NbdSettings>;
  maxConnections?: unknown;
};

/**
 * Merges defaults ← config file (flag `--config` or CIPHERLAKE_CONFIG, JSON) ← environment
 * ← flags. Raises ConfigError for malformed values. Secrets (passphrase, root secret key)
 * come only from the environment, never from flags (they would show in `ps`).
 */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): CipherlakeConfig {
  const filePath = flags.config ?? env.CIPHERLAKE_CONFIG;
  const file = filePath !== undefined ? readConfigFile(filePath) : {};
  const port = flags.port ?? numberFrom(env.CIPHERLAKE_HTTP_PORT, 'CIPHERLAKE_HTTP_PORT') ?? file.http?.port ?? DEFAULT_CONFIG.http.port;
  const passphraseEnv = file.rootKey?.passphraseEnv ?? 'CIPHERLAKE_ROOT_KEY_PASSPHRASE';
  const passphrase = env[passphraseEnv];
  const rootKey: CipherlakeConfig['rootKey'] =
    passphrase !== undefined && file.rootKey?.kind !== 'file'
      ? { kind: 'passphrase', passphrase }
      : file.rootKey?.kind === 'passphrase'
        ? missingPassphrase(passphraseEnv)
        : { kind: 'file', ...(env.CIPHERLAKE_ROOT_KEY_FILE ?? file.rootKey?.path ? { path: (env.CIPHERLAKE_ROOT_KEY_FILE ?? file.rootKey?.path)! } : {}) };
  const accessKeyId = env.CIPHERLAKE_ROOT_ACCESS_KEY_ID;
  const secretAccessKey = env.CIPHERLAKE_ROOT_SECRET_ACCESS_KEY;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError('set both CIPHERLAKE_ROOT_ACCESS_KEY_ID and CIPHERLAKE_ROOT_SECRET_ACCESS_KEY, or neither');
  }
  const host = flags.host ?? env.CIPHERLAKE_HTTP_HOST ?? file.http?.host ?? DEFAULT_CONFIG.http.host;
  const config: CipherlakeConfig = {
    dataDir: resolve(flags.dataDir ?? env.CIPHERLAKE_DATA_DIR ?? file.dataDir ?? DEFAULT_CONFIG.dataDir),
    http: { enabled: file.http?.enabled ?? DEFAULT_CONFIG.http.enabled, host, port },
    https: {
      enabled: file.https?.enabled ?? DEFAULT_CONFIG.https.enabled,
      host: file.https?.host ?? host,
      // An ephemeral HTTP port (tests, benchmarks) makes the HTTPS default ephemeral too, so two such servers never collide on 9443.
      port: flags.httpsPort ?? numberFrom(env.CIPHERLAKE_HTTPS_PORT, 'CIPHERLAKE_HTTPS_PORT') ?? file.https?.port ?? (port === 0 ? 0 : DEFAULT_CONFIG.https.port),
    },
    tls: tlsSettings(file.tls ?? {}),
    endpoints: (file.endpoints ?? []).map((e, i) => endpointSettings(e, i)),
    region: flags.region ?? env.CIPHERLAKE_REGION ?? file.region ?? DEFAULT_CONFIG.region,
    accountId: flags.accountId ?? env.CIPHERLAKE_ACCOUNT_ID ?? file.accountId ?? DEFAULT_CONFIG.accountId,
    rootKey,
    logLevel: flags.logLevel ?? env.CIPHERLAKE_LOG_LEVEL ?? file.logLevel ?? DEFAULT_CONFIG.logLevel,
    kms: { materialCacheTtlSeconds: file.kms?.materialCacheTtlSeconds ?? DEFAULT_CONFIG.kms.materialCacheTtlSeconds },
    audit: { enabled: auditEnabled(env.CIPHERLAKE_AUDIT_ENABLED, file.audit?.enabled), durability: auditDurability(env.CIPHERLAKE_AUDIT_DURABILITY, file.audit?.durability) },
    ...(accessKeyId !== undefined && secretAccessKey !== undefined ? { rootCredentials: { accessKeyId, secretAccessKey } } : {}),
    ...(file.s3 !== undefined ? { s3: file.s3 } : {}),
    nbd: {
      enabled: file.nbd?.enabled ?? true,
      host: file.nbd?.host ?? '127.0.0.1',
      // Like HTTPS: an ephemeral HTTP port (tests, benchmarks) makes the NBD default ephemeral too.
      port: file.nbd?.port ?? (port === 0 ? 0 : 10809),
    },
    maxConnections: maxConnections(flags.maxConnections, env.CIPHERLAKE_MAX_CONNECTIONS, file.maxConnections),
  };
  validate(config);
  return config;
}

function tlsSettings(t: Partial<TlsSettings>): TlsSettings {
  if ((t.certFile === undefined) !== (t.keyFile === undefined)) throw new ConfigError('set both tls.certFile and tls.keyFile, or neither');
  if (t.requireClientCert === true && t.clientCa === undefined) throw new ConfigError('tls.requireClientCert needs tls.clientCa');
  const names = t.names ?? DEFAULT_CONFIG.tls.names;
  if (!Array.isArray(names)) throw new ConfigError('tls.names must be a list of DNS names or IP addresses');
  const bad = names.find((n) => typeof n !== 'string' || !isCertificateName(n));
  if (bad !== undefined) throw new ConfigError(`tls.names: ${JSON.stringify(bad)} is neither a DNS name nor an IP address`);
  const keyAlgorithm = t.keyAlgorithm ?? DEFAULT_CONFIG.tls.keyAlgorithm;
  if (keyAlgorithm !== 'ec-p256' && keyAlgorithm !== 'rsa-2048') throw new ConfigError('tls.keyAlgorithm must be ec-p256 or rsa-2048');
  const reload = t.reloadIntervalSeconds ?? DEFAULT_CONFIG.tls.reloadIntervalSeconds;
  if (typeof reload !== 'number' || !(reload > 0)) throw new ConfigError('tls.reloadIntervalSeconds must be a positive number');
  return {
    names,
    keyAlgorithm,
    reloadIntervalSeconds: reload,
    requireClientCert: t.requireClientCert === true,
    ...(t.certFile !== undefined && t.keyFile !== undefined ? { certFile: resolve(t.certFile), keyFile: resolve(t.keyFile) } : {}),
    ...(t.clientCa !== undefined ? { clientCa: resolve(t.clientCa) } : {}),
  };
}

function endpointSettings(e: NonNullable<ConfigFile['endpoints']>[number], i: number): EndpointSettings {
  const where = `endpoints[${i}]`;
  if (typeof e.id !== 'string' || !/^vpce-[0-9a-f]{8,17}$/.test(e.id)) throw new ConfigError(`${where}.id must look like vpce-0a1b2c3d4e5f60718`);
  if (typeof e.host !== 'string' || isIP(e.host) === 0) throw new ConfigError(`${where}.host must be an IP address`);
  if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 0 || e.port > 65535) throw new ConfigError(`${where}.port must be a port number`);
  if (e.tls !== undefined && typeof e.tls !== 'boolean') throw new ConfigError(`${where}.tls must be true or false`);
  let policy: string | undefined;
  if (e.policy !== undefined) {
    policy = typeof e.policy === 'string' ? e.policy : JSON.stringify(e.policy);
    try {
      parsePolicy(policy, 'endpoint');
    } catch (err) {
      throw new ConfigError(`${where}.policy: ${(err as Error).message}`);
    }
  }
  return { id: e.id, host: e.host, port: e.port, tls: e.tls === true, ...(policy !== undefined ? { policy } : {}) };
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as ConfigFile;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not a JSON object: ${(err as Error).message}`);
  }
}

function numberFrom(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer`);
  return n;
}

/** --max-connections over CIPHERLAKE_MAX_CONNECTIONS over the file's maxConnections over the default; an integer from 1 to MAX_MAX_CONNECTIONS. */
function maxConnections(flag: number | undefined, envValue: string | undefined, fileValue: unknown): number {
  const value = flag ?? numberFrom(envValue, 'CIPHERLAKE_MAX_CONNECTIONS') ?? fileValue ?? DEFAULT_MAX_CONNECTIONS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_MAX_CONNECTIONS) {
    throw new ConfigError(`maxConnections (--max-connections, CIPHERLAKE_MAX_CONNECTIONS) must be an integer from 1 to ${MAX_MAX_CONNECTIONS}`);
  }
  return value;
}

/** CIPHERLAKE_AUDIT_ENABLED (true/false/1/0) over the file's audit.enabled over true. */
function auditEnabled(envValue: string | undefined, fileValue: unknown): boolean {
  if (envValue !== undefined && envValue !== '') {
    if (envValue === 'true' || envValue === '1') return true;
    if (envValue === 'false' || envValue === '0') return false;
    throw new ConfigError('CIPHERLAKE_AUDIT_ENABLED must be true or false');
  }
  if (fileValue === undefined) return true;
  if (typeof fileValue !== 'boolean') throw new ConfigError('audit.enabled must be true or false');
  return fileValue;
}

/** CIPHERLAKE_AUDIT_DURABILITY over the file's audit.durability over `process`. */
function auditDurability(envValue: string | undefined, fileValue: unknown): AuditDurability {
  const value = envValue !== undefined && envValue !== '' ? envValue : (fileValue ?? 'process');
  if (value === 'process' || value === 'power') return value;
  throw new ConfigError('audit.durability (CIPHERLAKE_AUDIT_DURABILITY) must be "process" or "power"');
}

function missingPassphrase(envName: string): never {
  throw new ConfigError(`the config asks for a passphrase root key, but ${envName} is not set`);
}

function validate(c: CipherlakeConfig): void {
  if (!Number.isInteger(c.http.port) || c.http.port < 0 || c.http.port > 65535) throw new ConfigError(`invalid port ${c.http.port}`);
  if (!Number.isInteger(c.https.port) || c.https.port < 0 || c.https.port > 65535) throw new ConfigError(`invalid HTTPS port ${c.https.port}`);
  const ids = new Set<string>();
  for (const e of c.endpoints) {
    if (ids.has(e.id)) throw new ConfigError(`endpoint ${e.id} is configured twice`);
    ids.add(e.id);
  }
  if (!c.http.enabled && !c.https.enabled && c.endpoints.length === 0) throw new ConfigError('nothing to listen on: http and https are off and no endpoints are configured');
  if (c.nbd !== undefined && (!Number.isInteger(c.nbd.port) || c.nbd.port < 0 || c.nbd.port > 65535)) throw new ConfigError(`invalid NBD port ${c.nbd.port}`);
  if (c.nbd !== undefined && isIP(c.nbd.host) === 0) throw new ConfigError('nbd.host must be an IP address');
  if (!/^\d{12}$/.test(c.accountId)) throw new ConfigError('accountId must be 12 digits');
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(c.region)) throw new ConfigError(`invalid region ${c.region}`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) throw new ConfigError(`invalid log level ${c.logLevel}`);
}
