/**
 * The floor of GenerateDataKey for bench/kms-bench.ts (its `--floor` rows): a node:http
 * server doing only the work issue 2 requires of every GenerateDataKey, so that Cipherlake's
 * rate can be read against what that work alone reaches in the same run:
 *
 * - keep-alive HTTP, with the same keep-alive settings as Cipherlake and the bare server;
 * - SigV4 verification of every request with the project's verifier (src/iam/sigv4/), the
 *   body's SHA-256 included, against one fixed credential held in memory (no store lookup);
 * - JSON 1.1 parsing of the request (KeyId, KeySpec / NumberOfBytes, EncryptionContext,
 *   checked as KMS checks them, with the project's context validation);
 * - a fresh random data key (the pool Cipherlake draws data keys from), sealed into the
 *   project's ciphertext blob (src/kms/ciphertext-blob.ts) under one in-memory key material
 *   version, the encryption context bound as Cipherlake binds it;
 * - the JSON answer KMS gives (CiphertextBlob, Plaintext, KeyId as the key's ARN).
 *
 * No key store, no policy evaluation, no audit, no logging. Failures answer in KMS's JSON
 * 1.1 error shape through the project's error table (a bad signature: 400
 * InvalidSignatureException). Only TrentService.GenerateDataKey is served; any other target
 * is UnknownOperationException.
 *
 * Run: node --import tsx bench/minimal-kms-server.ts [workers]   (0 or absent: one process)
 * With workers > 0, the primary forks that many node:cluster workers sharing the port.
 * Prints `PORT <n>` on stdout once every worker listens; exits on SIGTERM.
 * Environment: MINIMAL_KMS_ACCESS_KEY_ID and MINIMAL_KMS_SECRET_ACCESS_KEY (the one
 * credential, required); MINIMAL_KMS_KEY_MATERIAL (64 hex digits: the key material, for
 * tests that open the blobs; absent: random, drawn once by the primary and handed to its
 * workers, so every worker seals under the same key version).
 */
import cluster from 'node:cluster';
import { hash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SecretBytes } from '../src/crypto/secret-bytes.js';
import { AuthenticationError, parseSignature, scopeRegionError, verifySignature, type Credential, type CredentialLookup, type SignedRequestView } from '../src/iam/index.js';
import { sealBlob } from '../src/kms/ciphertext-blob.js';
import { validateContext, type EncryptionContext } from '../src/kms/encryption-context.js';
import { NotFoundError, ValidationError } from '../src/kms/errors.js';
import { secretRandomBytes as pooledRandomBytes } from '../src/crypto/random-pool.js';
import { KMS_MAX_BODY_BYTES, toKmsWireError } from '../src/kms/index.js';

/** The one key the server knows (a fixed id: callers name it as this id or as MINIMAL_KMS_KEY_ARN). */
export const MINIMAL_KMS_KEY_ID = '6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c';
/** The region the server serves and the key's ARN names. */
export const MINIMAL_KMS_REGION = 'us-east-1';
/** The key's ARN, as GenerateDataKey answers it in KeyId. */
export const MINIMAL_KMS_KEY_ARN = `arn:aws:kms:${MINIMAL_KMS_REGION}:000000000000:key/${MINIMAL_KMS_KEY_ID}`;
/** The key material version every blob names. */
const KEY_VERSION = 1;
const TARGET = 'TrentService.GenerateDataKey';
const KEY_ARN_JSON = JSON.stringify(MINIMAL_KMS_KEY_ARN);

/** A parsed GenerateDataKey request: the data key's length and the context to bind. */
interface DataKeyRequest {
  readonly length: number;
  readonly context: EncryptionContext | undefined;
}

/** The one credential, found without a store: a string comparison. */
function fixedCredentials(accessKeyId: string, secretAccessKey: string): CredentialLookup {
  const credential: Credential = {
    accessKeyId,
    secretAccessKey,
    principal: { type: 'Root', arn: 'arn:aws:iam::000000000000:root', accountId: '000000000000', principalId: '000000000000' },
  };
  return { find: (id) => (id === accessKeyId ? credential : undefined) };
}

/** Parses a GenerateDataKey body as KMS validates it. Raises ValidationError or NotFoundError. */
function parseRequest(body: Buffer): DataKeyRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ValidationError('The request body is not valid JSON.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ValidationError('The request body must be a JSON object.');
  const r = json as Record<string, unknown>;
  if (typeof r.KeyId !== 'string' || r.KeyId === '') throw new ValidationError('1 validation error detected: Value null at \'keyId\' failed to satisfy constraint: Member must not be null');
  if (r.KeyId !== MINIMAL_KMS_KEY_ID && r.KeyId !== MINIMAL_KMS_KEY_ARN) throw new NotFoundError(`Key '${r.KeyId.slice(0, 256)}' does not exist`);
  return { length: dataKeyLength(r.KeySpec, r.NumberOfBytes), context: validateContext(r.EncryptionContext) };
}

/** The data key's length from KeySpec or NumberOfBytes (exactly one of them), as KMS checks them. */
function dataKeyLength(keySpec: unknown, numberOfBytes: unknown): number {
  if (keySpec !== undefined && numberOfBytes !== undefined) throw new ValidationError('Please specify either number of bytes or key spec.');
  if (keySpec === 'AES_256') return 32;
  if (keySpec === 'AES_128') return 16;
  if (keySpec !== undefined) throw new ValidationError(`1 validation error detected: Value '${String(keySpec).slice(0, 64)}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`);
  if (numberOfBytes === undefined) throw new ValidationError('Please specify either number of bytes or key spec.');
  if (typeof numberOfBytes !== 'number' || !Number.isInteger(numberOfBytes) || numberOfBytes < 1 || numberOfBytes > 1024) {
    throw new ValidationError('1 validation error detected: Value at \'numberOfBytes\' failed to satisfy constraint: Member must have value between 1 and 1024');
  }
  return numberOfBytes;
}

/** The signature check: parse, region, service, then the project's verifier over the body's hash. */
function authenticate(req: IncomingMessage, body: Buffer, credentials: CredentialLookup): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const headers: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
  const view: SignedRequestView = { method: req.method ?? 'POST', rawPath: q < 0 ? url : url.slice(0, q), rawQuery: q < 0 ? '' : url.slice(q + 1), headers };
  const sig = parseSignature(view);
  if (sig === undefined) throw new AuthenticationError('MissingAuthentication', 'Missing Authentication Token');
  const wrongRegion = scopeRegionError(sig, MINIMAL_KMS_REGION);
  if (wrongRegion !== undefined) throw wrongRegion;
  if (sig.service !== 'kms') throw new AuthenticationError('SignatureMismatch', `Credential should be scoped to correct service: 'kms'. `);
  verifySignature(view, sig, credentials, { now: new Date(), bodySha256: hash('sha256', body, 'hex') });
}

/** Answers one whole request: authenticate, parse, generate and seal, respond. Never throws. */
function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, credentials: CredentialLookup, material: SecretBytes): void {
  try {
    authenticate(req, body, credentials);
    if (req.headers['x-amz-target'] !== TARGET) {
      send(res, 400, '{"__type":"UnknownOperationException"}', 'UnknownOperationException');
      return;
    }
    const { length, context } = parseRequest(body);
    const plaintext = pooledRandomBytes(length);
    const blob = sealBlob(material, MINIMAL_KMS_KEY_ID, KEY_VERSION, plaintext, context);
    const text = `{"CiphertextBlob":"${blob.toString('base64')}","Plaintext":"${plaintext.toString('base64')}","KeyId":${KEY_ARN_JSON}}`;
    plaintext.fill(0);
    send(res, 200, text, undefined);
  } catch (err) {
    const wire = toKmsWireError(err);
    send(res, wire.status, JSON.stringify({ __type: wire.code, message: wire.message }), wire.code);
  }
}

function send(res: ServerResponse, status: number, text: string, errorType: string | undefined): void {
  const headers: Record<string, string | number> = { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}

/** Reads the body (up to KMS's limit; past it, answers 413 and closes) and answers it. */
function handle(req: IncomingMessage, res: ServerResponse, credentials: CredentialLookup, material: SecretBytes): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= KMS_MAX_BODY_BYTES) chunks.push(c);
  });
  req.on('end', () => {
    if (size > KMS_MAX_BODY_BYTES) {
      res.writeHead(413, { connection: 'close', 'content-length': 0 });
      res.end();
      return;
    }
    answer(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), credentials, material);
  });
}

function serve(credentials: CredentialLookup, material: SecretBytes): void {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => handle(req, res, credentials, material));
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as AddressInfo).port;
    if (cluster.isWorker) process.send?.({ port });
    else process.stdout.write(`PORT ${port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

/** The key material from MINIMAL_KMS_KEY_MATERIAL; raises for anything but 32 bytes of hex. */
function materialFromEnv(hex: string): SecretBytes {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('MINIMAL_KMS_KEY_MATERIAL must be 64 hex digits');
  return SecretBytes.adopt(Buffer.from(hex, 'hex'));
}

function main(): void {
  const accessKeyId = process.env.MINIMAL_KMS_ACCESS_KEY_ID;
  const secret = process.env.MINIMAL_KMS_SECRET_ACCESS_KEY;
  if (accessKeyId === undefined || secret === undefined) throw new Error('MINIMAL_KMS_ACCESS_KEY_ID and MINIMAL_KMS_SECRET_ACCESS_KEY are required');
  const workers = Number(process.argv[2] ?? '0');
  if (workers > 0 && cluster.isPrimary) {
    // One material for all workers, as one KMS key version: drawn here unless given.
    const hex = process.env.MINIMAL_KMS_KEY_MATERIAL ?? randomBytes(32).toString('hex');
    let ready = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork({ MINIMAL_KMS_KEY_MATERIAL: hex }).on('message', (m: { port: number }) => {
        if (++ready === workers) process.stdout.write(`PORT ${m.port}\n`);
      });
    }
    process.on('SIGTERM', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      setTimeout(() => process.exit(0), 200).unref();
    });
    return;
  }
  const given = process.env.MINIMAL_KMS_KEY_MATERIAL;
  serve(fixedCredentials(accessKeyId, secret), given !== undefined ? materialFromEnv(given) : SecretBytes.random(32));
}

// Run as a script (or as a cluster worker of it); importing the module for its constants starts nothing.
const entry = process.argv[1];
if (entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)) main();
