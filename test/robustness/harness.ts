import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import { pino } from 'pino';
import { loadConfig, type CipherlakeConfig } from '../../src/config/config.js';
import { startCipherlake, type RunningCipherlake } from '../../src/main.js';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { rawKmsRequest } from '../helpers/signed-request.js';

/** One line the server logged (pino JSON), with the error it carried if any. */
export interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly err?: { readonly type?: string; readonly message?: string };
  readonly [k: string]: unknown;
}

/** A server for malformed-input tests: like test/helpers/server.ts, but every log line is kept for inspection. */
export interface RobustServer {
  readonly server: RunningCipherlake;
  readonly endpoint: string;
  readonly dataDir: string;
  /** Every line logged so far (raw text, then parsed). */
  readonly rawLog: string[];
  logs(): LogLine[];
  close(): Promise<void>;
}

/**
 * Starts an in-process Cipherlake on an ephemeral loopback port with the test root
 * credentials and a fresh data directory; its logger (level info) writes into `rawLog`
 * instead of stdout, so a test can see which error a 5xx came from.
 */
export async function startRobustServer(overrides: Partial<CipherlakeConfig> = {}): Promise<RobustServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-robust-'));
  const base = loadConfig({ dataDir: dir, port: 0, logLevel: 'info' }, {});
  const config: CipherlakeConfig = {
    ...base,
    https: { ...base.https, enabled: false, port: 0 },
    rootCredentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    ...overrides,
  };
  const rawLog: string[] = [];
  const logger = pino({ level: 'info', base: { service: 'cipherlake' } }, { write: (line: string) => void rawLog.push(line) });
  const server = await startCipherlake(config, { logger });
  return {
    server,
    endpoint: server.endpoint,
    dataDir: dir,
    rawLog,
    logs: () => rawLog.map((l) => JSON.parse(l) as LogLine),
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** JavaScript's own error classes: a request that ends in one of these hit a bug, not a checked case. */
const BUG_TYPES = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'URIError', 'EvalError', 'Error', 'AggregateError']);

/** The logged errors (from line `from` on) whose type is a bare JavaScript error rather than one of ours. */
export function bugErrors(t: RobustServer, from = 0): LogLine[] {
  return t.logs().slice(from).filter((l) => l.err?.type !== undefined && BUG_TYPES.has(l.err.type));
}

/**
 * Asserts the server still answers: /_cipherlake/health is 200 and an ordinary signed KMS
 * call (ListKeys) succeeds; and that nothing logged since line `from` was a bare JavaScript error.
 */
export async function assertStillServing(t: RobustServer, from = 0): Promise<void> {
  const health = await fetch(`${t.endpoint}/_cipherlake/health`);
  assert.equal(health.status, 200, 'health check after the malformed input');
  await health.text();
  const list = await rawKmsRequest(t.endpoint, { target: 'TrentService.ListKeys', body: '{}' });
  assert.equal(list.status, 200, 'a normal KMS request after the malformed input');
  assert.deepEqual(bugErrors(t, from).map((l) => `${l.err?.type}: ${l.err?.message} (${l.msg})`), [], 'no request ended in a bare JavaScript error');
}

/** Asserts none of `secrets` (nor their base64 / hex spellings when given as bytes) occurs in `text`. */
export function assertNoSecret(text: string, secrets: ReadonlyArray<string | Buffer>, what: string): void {
  for (const s of secrets) {
    const spellings = typeof s === 'string' ? [s] : [s.toString('base64'), s.toString('hex')];
    for (const spelling of spellings) assert.ok(!text.includes(spelling), `${what} must not contain secret material`);
  }
}

/** What a robustness suite does around its tests, besides starting and closing its server. */
export interface RobustSuiteHooks {
  /** Runs once after the server started (create the buckets, keys, objects the tests keep). */
  readonly setup?: (t: RobustServer) => Promise<void>;
  /** Runs after each test, after assertStillServing (e.g. the kept object is unchanged). */
  readonly check?: (t: RobustServer) => Promise<void>;
}

/**
 * Registers, in the calling describe, one server for its tests: started (then `setup`)
 * before them, closed after; after each test, assertStillServing over that test's log lines,
 * then `check`. Returns the server, usable once the suite's `before` has run.
 */
export function robustSuite(overrides: Partial<CipherlakeConfig> = {}, hooks: RobustSuiteHooks = {}): RobustServer {
  let started: RobustServer | undefined;
  let logFrom = 0;
  const need = (): RobustServer => {
    if (started === undefined) throw new Error('the robustness server is not started yet (use it inside a test or hook)');
    return started;
  };
  before(async () => {
    started = await startRobustServer(overrides);
    await hooks.setup?.(started);
  });
  after(() => started?.close());
  beforeEach(() => {
    logFrom = need().rawLog.length;
  });
  afterEach(async () => {
    await assertStillServing(need(), logFrom);
    await hooks.check?.(need());
  });
  return {
    get server() {
      return need().server;
    },
    get endpoint() {
      return need().endpoint;
    },
    get dataDir() {
      return need().dataDir;
    },
    get rawLog() {
      return need().rawLog;
    },
    logs: () => need().logs(),
    close: () => need().close(),
  };
}
