import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CipherlakeError } from '../common/errors.js';

/** A configuration value is missing, malformed or unsafe. */
export class ConfigError extends CipherlakeError {
  readonly userError = true;
}

/** The whole configuration, after defaults, file, environment and flags are merged. */
export interface CipherlakeConfig {
  readonly dataDir: string;
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly region: string;
  readonly accountId: string;
  readonly rootKey: { readonly kind: 'file'; readonly path?: string } | { readonly kind: 'passphrase'; readonly passphrase: string };
  readonly logLevel: string;
  readonly kms: { readonly materialCacheTtlSeconds: number };
  /** Fixed root credentials instead of generated ones. */
  readonly rootCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** S3 endpoint settings; absent means the defaults (virtual hosts under `localhost`, no trusted proxy). */
  readonly s3?: S3Settings;
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

/** Safe embedded defaults: loopback only, data in ./.cipherlake, a root key file created on first start. */
export const DEFAULT_CONFIG: CipherlakeConfig = {
  dataDir: './.cipherlake',
  http: { enabled: true, host: '127.0.0.1', port: 9080 },
  region: 'us-east-1',
  accountId: '000000000000',
  rootKey: { kind: 'file' },
  logLevel: 'info',
  kms: { materialCacheTtlSeconds: 300 },
};

/** Options given on the command line (all optional). */
export interface ConfigFlags {
  readonly config?: string;
  readonly dataDir?: string;
  readonly host?: string;
  readonly port?: number;
  readonly region?: string;
  readonly accountId?: string;
  readonly logLevel?: string;
}

/** The file's shape: every field optional, same names as CipherlakeConfig. */
type ConfigFile = {
  dataDir?: string;
  http?: Partial<CipherlakeConfig['http']>;
  region?: string;
  accountId?: string;
  rootKey?: { kind?: 'file' | 'passphrase'; path?: string; passphraseEnv?: string };
  logLevel?: string;
  kms?: Partial<CipherlakeConfig['kms']>;
  s3?: S3Settings;
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
  const config: CipherlakeConfig = {
    dataDir: resolve(flags.dataDir ?? env.CIPHERLAKE_DATA_DIR ?? file.dataDir ?? DEFAULT_CONFIG.dataDir),
    http: {
      enabled: file.http?.enabled ?? DEFAULT_CONFIG.http.enabled,
      host: flags.host ?? env.CIPHERLAKE_HTTP_HOST ?? file.http?.host ?? DEFAULT_CONFIG.http.host,
      port,
    },
    region: flags.region ?? env.CIPHERLAKE_REGION ?? file.region ?? DEFAULT_CONFIG.region,
    accountId: flags.accountId ?? env.CIPHERLAKE_ACCOUNT_ID ?? file.accountId ?? DEFAULT_CONFIG.accountId,
    rootKey,
    logLevel: flags.logLevel ?? env.CIPHERLAKE_LOG_LEVEL ?? file.logLevel ?? DEFAULT_CONFIG.logLevel,
    kms: { materialCacheTtlSeconds: file.kms?.materialCacheTtlSeconds ?? DEFAULT_CONFIG.kms.materialCacheTtlSeconds },
    ...(accessKeyId !== undefined && secretAccessKey !== undefined ? { rootCredentials: { accessKeyId, secretAccessKey } } : {}),
    ...(file.s3 !== undefined ? { s3: file.s3 } : {}),
  };
  validate(config);
  return config;
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

function missingPassphrase(envName: string): never {
  throw new ConfigError(`the config asks for a passphrase root key, but ${envName} is not set`);
}

function validate(c: CipherlakeConfig): void {
  if (!Number.isInteger(c.http.port) || c.http.port < 0 || c.http.port > 65535) throw new ConfigError(`invalid port ${c.http.port}`);
  if (!/^\d{12}$/.test(c.accountId)) throw new ConfigError('accountId must be 12 digits');
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(c.region)) throw new ConfigError(`invalid region ${c.region}`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) throw new ConfigError(`invalid log level ${c.logLevel}`);
}
