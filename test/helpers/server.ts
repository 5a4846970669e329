import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpsAgent } from 'node:https';
import { after, before } from 'node:test';
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
 * A clock that reads the machine's time on every call, for startTestServer when a real
 * client's own clock must agree with the server's: boto3 and the AWS CLI sign with it, and
 * CloudTrail LookupEvents' StartTime/EndTime windows come from it. A ManualClock because that
 * is what a TestServer holds; its advance/set have no effect on what now() returns.
 */
export class RealTimeClock extends ManualClock {
  override now(): Date {
    return new Date();
  }
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

/** One in-process server of a describe block, and a client of each API for it (testServerFixture). */
export interface TestServerFixture {
  /** The running server. Throws outside the block's run (before its `before`, after its `after`). */
  readonly server: TestServer;
  /** A KMS client for it (TestServer.kms(), made once at the start). */
  readonly kms: KMSClient;
  /** An S3 client for it (TestServer.s3(), made once at the start). */
  readonly s3: S3Client;
}

/**
 * The setup of a describe block over one in-process server: before its tests, startTestServer
 * (with `overrides`), a KMS and an S3 client, then `ready` (a block's own setup: buckets, keys);
 * after them, the server closed and its data directory removed (also when `ready` failed;
 * nothing to close when the start did). Call inside describe().
 */
export function testServerFixture(ready?: (fx: TestServerFixture) => void | Promise<void>, overrides: Partial<CipherlakeConfig> = {}): TestServerFixture {
  let running: { server: TestServer; kms: KMSClient; s3: S3Client } | undefined;
  const current = () => {
    if (running === undefined) throw new Error('testServerFixture: the server is only there while the suite runs');
    return running;
  };
  const fx: TestServerFixture = {
    get server() {
      return current().server;
    },
    get kms() {
      return current().kms;
    },
    get s3() {
      return current().s3;
    },
  };
  before(async () => {
    const server = await startTestServer(overrides);
    running = { server, kms: server.kms(), s3: server.s3() };
    await ready?.(fx);
  });
  after(async () => {
    const server = running?.server;
    running = undefined;
    await server?.close();
  });
  return fx;
}

/** A gate on a test server's audit appends (gateAuditAppends). */
export interface AuditAppendGate {
  /** Every event whose append was asked for, in order (gated or not). */
  readonly started: readonly string[];
  /** Every event whose append resolved, in order. */
  readonly appended: readonly string[];
  /** How many appends of the gated event reached the gate so far. */
  held(): number;
  /** Lets the gated appends go on (each fails with `failWith` when one was given). */
  open(): void;
  /** Opens the gate and puts the real append back. */
  restore(): void;
}

/**
 * Wraps the in-process server's audit appends: those of `eventName` wait until `open()` and
 * then append (or, with `failWith`, reject with it instead); every other append runs at once.
 * Call `restore()` in a finally, or later tests see the wrapper.
 */
export function gateAuditAppends(t: TestServer, eventName: string, failWith?: Error): AuditAppendGate {
  const audit = t.server.audit;
  const append = audit.append;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const started: string[] = [];
  const appended: string[] = [];
  let held = 0;
  audit.append = async (event) => {
    started.push(event.eventName);
    if (event.eventName === eventName) {
      held += 1;
      await gate;
      if (failWith !== undefined) throw failWith;
    }
    const r = await append.call(audit, event);
    appended.push(event.eventName);
    return r;
  };
  return {
    started,
    appended,
    held: () => held,
    open: () => open(),
    restore: () => {
      open();
      audit.append = append;
    },
  };
}
