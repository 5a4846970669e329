/** Helpers for the net tests: run an external tool without blocking the in-process server, and make a small test PKI with openssl. */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cmd` asynchronously (the server under test shares this event loop) with stdin closed, a timeout, and never rejects. */
export function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000, ...(env !== undefined ? { env } : {}) }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** A CA made for a test (not the built-in one): its files. */
export interface TestCa {
  readonly certPath: string;
  readonly keyPath: string;
}

/** A leaf certificate and key (PEM files) with its serial (hex, as X509Certificate prints it). */
export interface TestLeaf {
  readonly certPath: string;
  readonly keyPath: string;
  readonly serial: string;
}

async function openssl(args: readonly string[]): Promise<void> {
  const r = await run('openssl', args);
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** Makes a self-signed EC P-256 CA in `dir` named `name`. */
export async function makeTestCa(dir: string, name: string): Promise<TestCa> {
  const ca = { certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) };
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', ca.keyPath, '-out', ca.certPath]);
  return ca;
}

/** Issues a leaf for 127.0.0.1/localhost (server) or a client certificate, signed by `ca`. */
export async function issueLeaf(dir: string, ca: TestCa, name: string, usage: 'server' | 'client'): Promise<TestLeaf> {
  const leaf = { certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) };
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, usage === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', leaf.keyPath, '-out', join(dir, `${name}.csr`)]);
  await openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', leaf.certPath]);
  return { ...leaf, serial: new X509Certificate(readFileSync(leaf.certPath)).serialNumber };
}
