import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './common/clock.js';
import { createLogger } from './common/logger.js';
import type { CipherlakeConfig } from './config/config.js';
import { loadRootCredentials, StaticCredentials, type Credential } from './iam/index.js';
import { KeyService, openRootKey } from './kms/index.js';
import { createEdgeHandler } from './net/edge-router.js';
import { openSqlite } from './store/sqlite/database.js';
import { SqliteKeyStore } from './store/sqlite/key-store.js';

/** A running Cipherlake: its endpoint, the root credentials, and how to stop it. */
export interface RunningCipherlake {
  readonly endpoint: string;
  readonly port: number;
  readonly credentials: Credential;
  readonly credentialsCreated: boolean;
  readonly config: CipherlakeConfig;
  readonly keys: KeyService;
  readonly log: Logger;
  /** Stops listening, finishes in-flight requests, zeroes keys and closes the stores. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * The composition root: config → stores → parts → listeners. Nothing else lives here.
 * Raises ConfigError / RootKeyConfigError for a configuration it cannot run with.
 */
export async function startCipherlake(config: CipherlakeConfig, options: StartOptions = {}): Promise<RunningCipherlake> {
  const log = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const rootKey = openRootKey(config.dataDir, config.rootKey);
  const db = openSqlite(join(config.dataDir, 'metadata.db'));
  const store = new SqliteKeyStore(db);
  const keys = new KeyService({
    store,
    rootKey,
    clock,
    settings: { region: config.region, accountId: config.accountId, materialCacheTtlMs: config.kms.materialCacheTtlSeconds * 1000 },
  });
  const { credential, created } = loadRootCredentials(config.dataDir, config.accountId, config.rootCredentials);
  const credentials = new StaticCredentials([credential]);
  const handler = createEdgeHandler({
    keys,
    credentials,
    clock,
    log,
    authorizeKms: async () => {},
    health: async () => {
      const s = await store.status();
      return { ok: s.ok, detail: { store: s.detail } };
    },
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, handler);
  await listen(server, config.http.host, config.http.port);
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  log.info({ endpoint, region: config.region, dataDir: config.dataDir }, 'cipherlake listening');
  let closed = false;
  return {
    endpoint,
    port,
    credentials: credential,
    credentialsCreated: created,
    config,
    keys,
    log,
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      keys.close();
      rootKey.close();
      db.close();
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
