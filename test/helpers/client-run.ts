import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from './server.js';

/** What a finished command printed and how it ended. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a real client with a clean environment: only PATH, HOME (a temp dir) and `env`.
 * The host's AWS_CA_BUNDLE and friends must not leak in: they change how every client
 * builds its TLS transport. Never rejects; the caller asserts on `code`.
 */
export function run(file: string, args: readonly string[], env: Readonly<Record<string, string>>, cwd?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, cwd, maxBuffer: 64 * 1024 * 1024, timeout: 45_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Like run, but rejects with the command's output when it exits non-zero. */
export async function runOk(file: string, args: readonly string[], env: Readonly<Record<string, string>>, cwd?: string): Promise<string> {
  const r = await run(file, args, env, cwd);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/**
 * Runs `python3 SCRIPT ARGS…` (a boto3 test script) as `runOk` runs a client, with no bytecode
 * written beside the scripts, and returns the one JSON object it printed. Rejects with the
 * script's output when it exits non-zero or prints anything but a JSON object, so a script that
 * fails part-way can never pass as an empty set of observations.
 */
export async function runPythonJson(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  cwd?: string,
): Promise<Record<string, unknown>> {
  const stdout = await runOk('python3', [script, ...args], { PYTHONDONTWRITEBYTECODE: '1', ...env }, cwd);
  const out: unknown = JSON.parse(stdout);
  if (typeof out !== 'object' || out === null || Array.isArray(out)) throw new Error(`${script} ${args.join(' ')} printed no JSON object: ${stdout}`);
  return out as Record<string, unknown>;
}

/**
 * The JSON a client printed, once `r` is asserted to have exited 0 (its stderr as the failure
 * message); {} when it printed nothing (AWS CLI commands that answer with no body). Throws on
 * output that is not JSON. `T` is the caller's reading of the output, not checked.
 */
export function okJson<T = Record<string, unknown>>(r: RunResult): T {
  assert.equal(r.code, 0, r.stderr);
  return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
}

/** A scratch directory with an empty file for clients that insist on a config path. */
export interface Scratch {
  readonly dir: string;
  readonly empty: string;
  remove(): void;
}

export function scratch(prefix: string): Scratch {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  return { dir, empty, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The AWS CLI / boto3 environment: test credentials, no config files, no metadata service, no pager. */
export function awsEnv(s: Scratch, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    HOME: s.dir,
    AWS_CONFIG_FILE: s.empty,
    AWS_SHARED_CREDENTIALS_FILE: s.empty,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
    ...extra,
  };
}

/** Credentials for `awsCli`; the test server's root credentials unless given. */
export interface CliKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * Runs `aws --endpoint-url ENDPOINT --output json ARGS…` with credentials from the
 * environment only (no config files, no metadata service, no pager), HOME = `home`, plus
 * `env` (e.g. AWS_ENDPOINT_URL_S3 for a command that makes S3 calls without --endpoint-url).
 * Never rejects; the caller asserts on `code`.
 */
export function awsCli(
  endpoint: string,
  home: string,
  args: readonly string[],
  keys: CliKeys = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
  env: Readonly<Record<string, string>> = {},
): Promise<RunResult> {
  return run('aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], {
    ...env,
    HOME: home,
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    ...(keys.sessionToken !== undefined ? { AWS_SESSION_TOKEN: keys.sessionToken } : {}),
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_PAGER: '',
  });
}
