import { spawn } from 'node:child_process';
import type { SecretBytes } from '../../crypto/secret-bytes.js';
import { KmsInternalError } from '../errors.js';
import type { AlgorithmParams } from './signing-algorithms.js';

/**
 * Signing and verifying a precomputed digest (KMS MessageType DIGEST).
 *
 * Why a child process: Node 20's node:crypto always hashes what it signs (crypto.sign,
 * createSign) and offers no prehashed ECDSA or RSASSA-PSS; `crypto.signDigest` only lands
 * in later Node releases. Rather than hand-rolling PSS encoding or ECDSA arithmetic, we
 * ask OpenSSL itself: `openssl pkeyutl -pkeyopt digest:<md>` signs its input as the
 * digest of that hash, which is exactly EVP_PKEY_sign.
 *
 * How the inputs travel: all of them go in base64 lines on the child's stdin; bash
 * decodes each into a process-substitution pipe that openssl opens as /dev/fd/N. The
 * private key therefore never touches a file, the command line or the environment.
 */

const SIGN_SCRIPT =
  'IFS= read -r k && IFS= read -r d && exec openssl pkeyutl -sign -keyform DER ' +
  '-inkey <(printf %s "$k" | base64 -d) -in <(printf %s "$d" | base64 -d) "$@"';
const VERIFY_SCRIPT =
  'IFS= read -r k && IFS= read -r d && IFS= read -r s && exec openssl pkeyutl -verify -pubin -keyform DER ' +
  '-inkey <(printf %s "$k" | base64 -d) -in <(printf %s "$d" | base64 -d) -sigfile <(printf %s "$s" | base64 -d) "$@"';
const TIMEOUT_MS = 10_000;
/** At most this many openssl children at once; later calls queue, so a burst cannot fork-bomb the host. */
const MAX_CHILDREN = 4;
let running = 0;
const waiting: Array<() => void> = [];

async function withChildSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
}

function pkeyutl(script: string, inputs: readonly Buffer[], params: AlgorithmParams): Promise<Run> {
  return withChildSlot(() => runChild(script, inputs, params));
}

function runChild(script: string, inputs: readonly Buffer[], params: AlgorithmParams): Promise<Run> {
  const opts = ['-pkeyopt', `digest:${params.hash}`];
  if (params.scheme === 'pss') opts.push('-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'pkeyutl', ...opts], { stdio: ['pipe', 'pipe', 'ignore'], timeout: TIMEOUT_MS });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', (err) => reject(new KmsInternalError('openssl pkeyutl could not run', { cause: err })));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out) }));
    child.stdin.on('error', () => undefined); // an early exit is reported by 'close'
    const text = Buffer.from(`${inputs.map((b) => b.toString('base64')).join('\n')}\n`, 'ascii');
    child.stdin.end(text, () => text.fill(0));
  });
}

/**
 * Signs `digest` with a PKCS#8 DER private key: DER-encoded ECDSA, or RSASSA-PSS (salt =
 * digest length, MGF1 with the same hash) / PKCS#1 v1.5 over the DigestInfo. The caller
 * has checked the digest length. Raises KmsInternalError if OpenSSL fails; never logs or
 * echoes the key.
 */
export async function signDigest(privateKeyDer: SecretBytes, digest: Buffer, params: AlgorithmParams): Promise<Buffer> {
  const run = await pkeyutl(SIGN_SCRIPT, [privateKeyDer.unsafeBytes(), digest], params);
  if (run.code !== 0 || run.stdout.length === 0) throw new KmsInternalError(`openssl pkeyutl -sign exited with ${run.code}`);
  return run.stdout;
}

/**
 * Verifies `signature` over `digest` with an SPKI DER public key. Returns false for a
 * signature that does not verify (including a malformed one); raises KmsInternalError
 * only when OpenSSL could not run at all.
 */
export async function verifyDigest(publicKeyDer: Buffer, digest: Buffer, signature: Buffer, params: AlgorithmParams): Promise<boolean> {
  const run = await pkeyutl(VERIFY_SCRIPT, [publicKeyDer, digest, signature], params);
  const said = run.stdout.toString('utf8');
  if (run.code === 0 && said.includes('Signature Verified Successfully')) return true;
  if (run.code === 1) return false;
  throw new KmsInternalError(`openssl pkeyutl -verify exited with ${run.code}`);
}
