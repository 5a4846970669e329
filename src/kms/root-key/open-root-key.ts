import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes, scryptSync } from 'node:crypto';
import { join } from 'node:path';
import { CipherlakeError } from '../../common/errors.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { LocalRootKeyProvider, RootKeyUnwrapError } from './local-root-key.js';

/** The root key could not be loaded (wrong passphrase, bad permissions, corrupt file). */
export class RootKeyConfigError extends CipherlakeError {
  readonly userError = true;
}

export type RootKeyConfig =
  | { readonly kind: 'file'; readonly path?: string }
  | { readonly kind: 'passphrase'; readonly passphrase: string };

const CHECK_LABEL = 'root-key-check';
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/**
 * Opens the root key provider for a data directory.
 *
 * - file: reads a 32-byte key from `path` (default DATA_DIR/root.key); on first start
 *   creates it with mode 0600. Refuses a key file readable by group or others.
 * - passphrase: derives the key with scrypt (N=2^15, r=8, p=1) and a salt kept in
 *   DATA_DIR/root-kdf.json, together with a check blob that detects a wrong passphrase.
 * Raises RootKeyConfigError; never logs key bytes or the passphrase.
 */
export function openRootKey(dataDir: string, config: RootKeyConfig): LocalRootKeyProvider {
  if (config.kind === 'file') return openFileKey(config.path ?? join(dataDir, 'root.key'));
  return openPassphraseKey(join(dataDir, 'root-kdf.json'), config.passphrase);
}

function openFileKey(path: string): LocalRootKeyProvider {
  if (!existsSync(path)) {
    writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new RootKeyConfigError(`root key file ${path} must not be readable by group or others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  const bytes = readFileSync(path);
  if (bytes.length !== 32) throw new RootKeyConfigError(`root key file ${path} must hold exactly 32 bytes`);
  return new LocalRootKeyProvider('file', SecretBytes.adopt(bytes));
}

function openPassphraseKey(path: string, passphrase: string): LocalRootKeyProvider {
  if (passphrase.length < 12) throw new RootKeyConfigError('the root key passphrase must be at least 12 characters');
  if (!existsSync(path)) {
    const salt = randomBytes(32);
    const provider = derive(passphrase, salt);
    const check = provider.wrapSync(SecretBytes.random(32), CHECK_LABEL);
    writeFileSync(path, JSON.stringify({ version: 1, kdf: 'scrypt', ...SCRYPT, salt: salt.toString('base64'), check: check.toString('base64') }), { mode: 0o600, flag: 'wx' });
    return provider;
  }
  const meta = JSON.parse(readFileSync(path, 'utf8')) as { salt: string; check: string };
  const provider = derive(passphrase, Buffer.from(meta.salt, 'base64'));
  try {
    provider.unwrapSync(Buffer.from(meta.check, 'base64'), CHECK_LABEL).dispose();
  } catch (err) {
    provider.close();
    if (err instanceof RootKeyUnwrapError) throw new RootKeyConfigError('wrong root key passphrase');
    throw err;
  }
  return provider;
}

function derive(passphrase: string, salt: Buffer): LocalRootKeyProvider {
  return new LocalRootKeyProvider('passphrase', SecretBytes.adopt(scryptSync(passphrase.normalize('NFKC'), salt, 32, SCRYPT)));
}
