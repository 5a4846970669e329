import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpsAgent } from 'node:https';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ManualClock } from '../../src/common/clock.js';
import { loadConfig, type CipherlakeConfig } from '../../src/config/config.js';
import { startCipherlake, type RunningCipherlake } from '../../src/main.js';

export const TEST_ACCESS_KEY_ID = 'AKIATESTTESTTEST0001';
export const TEST_SECRET_ACCESS_KEY = 'test-secret-key-0000000000000000000000000';
export const TEST_REGION = 'us-east-1';

export interface TestServer {
  readonly server: RunningCipherlake;
  readonly clock: ManualClock;
  readonly dataDir: string;
  readonly endpoint: string;
  /** Set when the test enabled HTTPS (overrides `https: { enabled: true, host: '127.0.0.1', port: 0 }`). */
  readonly httpsEndpoint: string | undefined;
  /** Private endpoints the test configured: vpce id → URL. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** A KMS client for another of this server's endpoints (HTTPS or private), trusting `caPem` for TLS. */
  kmsAt(endpoint: string, caPem?: string): KMSClient;
  kms(credentials?: { accessKeyId: string; secretAccessKey: string }): KMSClient;
  /** An S3Client for this server: path style, test credentials, no retries; `config` overrides any of it. */
  s3(config?: Partial<S3ClientConfig>): S3Client;
  /**
   * Moves the server's clock forward and keeps every client made by this helper in step
   * (the SDK signs with its own clock; without this the server would see expired signatures).
   */
  advance(ms: number): void;
  /** Stops the server (keeping the data directory). */
  stop(): Promise<void>;
  /** Starts a new server on the same data directory. */
  restart(): Promise<TestServer>;
  /** Stops the server and removes its data directory. */
  close(): Promise<void>;
}

/**
 * Starts an in-process Cipherlake on an ephemeral loopback port, with a fresh data
 * directory, fixed test credentials and a manual clock (starting at the real time).
 */
export async function startTestServer(overrides: Partial<CipherlakeConfig> = {}, dataDir?: string, clock = new ManualClock()): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'cipherlake-test-'));
  const base = loadConfig({ dataDir: dir, port: 0, logLevel: process.env.CIPHERLAKE_LOG_LEVEL ?? 'silent' }, {});
  const config: CipherlakeConfig = {
    ...base,
    // HTTPS is on by default at 9443; tests opt in (with port 0) so parallel servers never collide.
    https: { ...base.https, enabled: false, port: 0 },
    rootCredentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    ...overrides,
  };
  const server = await startCipherlake(config, { clock: { now: () => clock.now() } });
  const clients: Array<KMSClient | S3Client> = [];
  const self: TestServer = {
    server,
    clock,
    dataDir: dir,
    endpoint: server.endpoint,
    httpsEndpoint: server.httpsEndpoint,
    endpoints: server.endpoints,
    kmsAt(endpoint, caPem) {
      // The SDK builds its NodeHttpHandler from these options (no direct @smithy import needed).
      const requestHandler = caPem !== undefined ? { httpsAgent: new HttpsAgent({ ca: caPem, keepAlive: true }) } : undefined;
      const credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
      const c = new KMSClient({ endpoint, region: TEST_REGION, credentials, maxAttempts: 1, ...(requestHandler !== undefined ? { requestHandler } : {}) });
      clients.push(c);
      return c;
    },
    s3(config = {}) {
      const credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
      const c = new S3Client({ endpoint: server.endpoint, region: TEST_REGION, credentials, forcePathStyle: true, maxAttempts: 1, ...config });
      clients.push(c);
      return c;
    },
    kms(credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }) {
      const c = new KMSClient({ endpoint: server.endpoint, region: TEST_REGION, credentials, maxAttempts: 1 });
      clients.push(c);
      return c;
    },
    advance(ms) {
      clock.advance(ms);
      const offset = clock.now().getTime() - Date.now();
      for (const c of clients) (c.config as { systemClockOffset: number }).systemClockOffset = offset;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await server.close();
    },
    async restart() {
      await self.stop();
      return startTestServer(overrides, dir, clock);
    },
    async close() {
      await self.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}
