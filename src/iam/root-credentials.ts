import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RootCredentialsFileError } from './errors.js';
import type { Credential, CredentialLookup, Principal } from './principals.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A new AWS-style access key id: `AKIA` + 16 base-32 characters. */
export function newAccessKeyId(prefix = 'AKIA'): string {
  let id = prefix;
  for (let i = 0; i < 20 - prefix.length; i++) id += BASE32[randomInt(32)];
  return id;
}

/** A new 40-character secret access key. */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
}

/** The account's root principal. */
export function rootPrincipal(accountId: string): Principal {
  return { type: 'Root', arn: `arn:aws:iam::${accountId}:root`, accountId, principalId: accountId };
}

/**
 * Loads the root credentials: fixed ones from configuration, else those kept in
 * DATA_DIR/credentials.json (mode 0600), created on first start. `created` tells the
 * caller to print them once.
 */
export function loadRootCredentials(
  dataDir: string,
  accountId: string,
  fixed?: { accessKeyId: string; secretAccessKey: string },
): { credential: Credential; created: boolean } {
  const principal = rootPrincipal(accountId);
  if (fixed !== undefined) return { credential: { ...fixed, principal }, created: false };
  const path = join(dataDir, 'credentials.json');
  if (existsSync(path)) {
    const stored = parseStoredRootCredentials(readFileSync(path, 'utf8'), path);
    return { credential: { ...stored, principal }, created: false };
  }
  const fresh = { accessKeyId: newAccessKeyId(), secretAccessKey: newSecretAccessKey() };
  writeFileSync(path, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  return { credential: { ...fresh, principal }, created: true };
}

/**
 * The access key id and secret of a credentials.json's text (`path` is for the message).
 * Raises RootCredentialsFileError when the text is not JSON with both as strings; the
 * error never quotes the text.
 */
export function parseStoredRootCredentials(text: string, path: string): { accessKeyId: string; secretAccessKey: string } {
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch {
    stored = undefined; // JSON.parse's message quotes the text around the fault: the secret
  }
  const { accessKeyId, secretAccessKey } = (typeof stored === 'object' && stored !== null ? stored : {}) as Record<string, unknown>;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
    throw new RootCredentialsFileError(`${path} does not hold root credentials (JSON with string accessKeyId and secretAccessKey)`);
  }
  return { accessKeyId, secretAccessKey };
}

/** A CredentialLookup over a fixed set of credentials. */
export class StaticCredentials implements CredentialLookup {
  readonly #byId = new Map<string, Credential>();
  constructor(credentials: readonly Credential[]) {
    for (const c of credentials) this.#byId.set(c.accessKeyId, c);
  }
  find(accessKeyId: string): Credential | undefined {
    return this.#byId.get(accessKeyId);
  }
}
