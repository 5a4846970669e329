import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { CreateKeyCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { loadConfig, type CipherlakeConfig } from '../../src/config/config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, scratch, type Scratch } from '../helpers/client-run.js';
import { issueLeaf, makeTestCa, run, type TestCa, type TestLeaf } from './tools.js';

const HTTPS_ON: Partial<CipherlakeConfig> = { https: { enabled: true, host: '127.0.0.1', port: 0 } };

function portOf(url: string | undefined): string {
  assert.ok(url !== undefined, 'HTTPS endpoint expected');
  return new URL(url).port;
}

/** The certificate the server presents to a new connection (verified against `ca`). */
function peerCertificate(port: string, ca: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** GET /_cipherlake/health over HTTPS, optionally with a client certificate; resolves the status. */
function health(port: string, ca: string, client?: TestLeaf): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1', port: Number(port), path: '/_cipherlake/health', ca, agent: false,
        ...(client !== undefined ? { cert: readFileSync(client.certPath), key: readFileSync(client.keyPath) } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function sClient(port: string, caFile: string, protocol: string[]): Promise<{ code: number; out: string }> {
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', caFile, '-verify_return_error', ...protocol]);
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('HTTPS with the built-in CA', () => {
  let t: TestServer;
  let home: Scratch;
  let work: string;
  let caPem: string;
  let caFile: string;

  before(async () => {
    t = await startTestServer(HTTPS_ON);
    home = scratch('cipherlake-tls-');
    work = home.dir;
    const exported = await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'ca', 'export', '--data-dir', t.dataDir]);
    assert.equal(exported.code, 0, exported.stderr);
    caPem = exported.stdout;
    caFile = join(work, 'ca.pem');
    writeFileSync(caFile, caPem);
  });
  after(async () => {
    await t.close();
    home.remove();
  });

  it('creates the CA in DATA_DIR/tls with a 0600 key, and exports exactly its certificate', () => {
    assert.equal(statSync(join(t.dataDir, 'tls', 'ca', 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(t.dataDir, 'tls', 'server.pem')).mode & 0o777, 0o600);
    assert.equal(caPem, readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8'));
    assert.equal(new X509Certificate(caPem).ca, true);
    assert.doesNotMatch(caPem, /PRIVATE KEY/);
  });

  it('serves a certificate for localhost, 127.0.0.1 and ::1 signed by that CA', async () => {
    const cert = await peerCertificate(portOf(t.httpsEndpoint), caPem);
    assert.match(cert.subjectaltname ?? '', /DNS:localhost/);
    assert.match(cert.subjectaltname ?? '', /IP Address:127\.0\.0\.1/);
    assert.match(cert.subjectaltname ?? '', /IP Address:0:0:0:0:0:0:0:1/);
    assert.ok(new X509Certificate(cert.raw).verify(new X509Certificate(caPem).publicKey));
  });

  it('answers the KMS SDK over HTTPS when it trusts the exported CA, and the audit record has the TLS details', async () => {
    const kms = t.kmsAt(t.httpsEndpoint!, caPem);
    const key = await kms.send(new CreateKeyCommand({}));
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyMetadata!.KeyId!, KeySpec: 'AES_256' }));
    assert.equal(dk.Plaintext?.length, 32);
    const { records } = await t.server.auditStore.lookup({ eventName: 'GenerateDataKey', limit: 5 });
    const tls = records[0]?.event.tlsDetails;
    assert.ok(tls !== undefined, 'tlsDetails recorded');
    assert.equal(tls.tlsVersion, 'TLSv1.3');
    assert.match(tls.cipherSuite, /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
    assert.equal(records[0]?.event.vpcEndpointId, undefined);
  });

  it('is refused by a client that does not trust the CA', async () => {
    await assert.rejects(t.kmsAt(t.httpsEndpoint!).send(new CreateKeyCommand({})), /certificate/i);
  });

  it('records no TLS details for a plain-HTTP request', async () => {
    await t.kms().send(new CreateKeyCommand({ Description: 'over http' }));
    const { records } = await t.server.auditStore.lookup({ eventName: 'CreateKey', limit: 1 });
    assert.equal(records[0]?.event.tlsDetails, undefined);
  });

  it('accepts TLS 1.3 and 1.2 (openssl s_client) and refuses TLS 1.1 and CBC suites', async () => {
    const port = portOf(t.httpsEndpoint);
    const v13 = await sClient(port, caFile, ['-tls1_3']);
    assert.equal(v13.code, 0, v13.out);
    assert.match(v13.out, /New, TLSv1\.3, Cipher is TLS_/);
    assert.match(v13.out, /Verify return code: 0 \(ok\)/);
    const v12 = await sClient(port, caFile, ['-tls1_2']);
    assert.equal(v12.code, 0, v12.out);
    assert.match(v12.out, /New, TLSv1\.2, Cipher is ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)\n/);
    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal is the server's.
    const v11 = await sClient(port, caFile, ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
    assert.notEqual(v11.code, 0, v11.out);
    assert.match(v11.out, /alert protocol version|unsupported protocol|wrong version number/i);
    const cbc = await sClient(port, caFile, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:AES128-SHA']);
    assert.notEqual(cbc.code, 0, cbc.out);
    assert.match(cbc.out, /handshake failure|no shared cipher/i);
  });

  /** The AWS CLI's environment (awsEnv: test credentials, no config files) with no retries; PATH too, as tools.run passes only this. */
  const awsCliEnv = (): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // The refused call would otherwise be retried with backoff for ~10 s.
    ...awsEnv(home, { AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'standard' }),
  });

  it('serves the AWS CLI with AWS_CA_BUNDLE set to the exported CA', async () => {
    const env = awsCliEnv();
    const args = ['kms', 'list-keys', '--endpoint-url', t.httpsEndpoint!, '--output', 'json'];
    const trusted = await run('aws', args, { ...env, AWS_CA_BUNDLE: caFile });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.ok((JSON.parse(trusted.stdout) as { Keys: unknown[] }).Keys.length >= 1);
    const untrusted = await run('aws', args, env);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /SSL|certificate/i);
  });

  it('records the Host header the client sent (tlsDetails.clientProvidedHostHeader) for IAM and STS as for KMS', async () => {
    const env = { ...awsCliEnv(), AWS_CA_BUNDLE: caFile };
    const host = new URL(t.httpsEndpoint!).host;
    for (const [args, eventName] of [[['kms', 'list-keys'], 'ListKeys'], [['sts', 'get-caller-identity'], 'GetCallerIdentity'], [['iam', 'list-users'], 'ListUsers']] as const) {
      const r = await run('aws', [...args, '--endpoint-url', t.httpsEndpoint!, '--output', 'json'], env);
      assert.equal(r.code, 0, r.stderr);
      const { records } = await t.server.auditStore.lookup({ eventName, limit: 1 });
      const tls = records[0]?.event.tlsDetails;
      assert.equal(`${tls?.tlsVersion} ${tls?.clientProvidedHostHeader}`, `TLSv1.3 ${host}`, `${eventName}: tlsDetails of the CLI's call`);
    }
  });

  it('keeps the same CA and server certificate across a restart', async () => {
    const before = await peerCertificate(portOf(t.httpsEndpoint), caPem);
    t = await t.restart();
    const again = await peerCertificate(portOf(t.httpsEndpoint), caPem);
    assert.equal(again.serialNumber, before.serialNumber);
  });

  it('re-issues the server certificate when the configured names change', async () => {
    const before = await peerCertificate(portOf(t.httpsEndpoint), caPem);
    await t.stop();
    const base = loadConfig({ dataDir: t.dataDir }, {});
    t = await startTestServer({ ...HTTPS_ON, tls: { ...base.tls, names: ['kms.cipherlake.test'] } }, t.dataDir);
    const after = await peerCertificate(portOf(t.httpsEndpoint), caPem);
    assert.notEqual(after.serialNumber, before.serialNumber);
    assert.match(after.subjectaltname ?? '', /DNS:kms\.cipherlake\.test/);
  });
});

describe('HTTPS with a user-supplied certificate', () => {
  let t: TestServer;
  let work: string;
  let ca: TestCa;
  let caPem: string;
  let first: TestLeaf;
  let second: TestLeaf;
  const certFile = (): string => join(work, 'live.crt');
  const keyFile = (): string => join(work, 'live.key');

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cipherlake-usercert-'));
    ca = await makeTestCa(work, 'user-ca');
    caPem = readFileSync(ca.certPath, 'utf8');
    first = await issueLeaf(work, ca, 'first', 'server');
    second = await issueLeaf(work, ca, 'second', 'server');
    writeFileSync(certFile(), readFileSync(first.certPath));
    writeFileSync(keyFile(), readFileSync(first.keyPath));
    const base = loadConfig({}, {});
    t = await startTestServer({ ...HTTPS_ON, tls: { ...base.tls, certFile: certFile(), keyFile: keyFile(), reloadIntervalSeconds: 0.1 } });
  });
  after(async () => {
    await t.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('serves it, and serves the replacement to new connections without a restart', async () => {
    const port = portOf(t.httpsEndpoint);
    assert.equal((await peerCertificate(port, caPem)).serialNumber, first.serial);
    // Replace key, then certificate, each atomically: the half-replaced pair must not be served.
    writeFileSync(join(work, 'next.key'), readFileSync(second.keyPath));
    renameSync(join(work, 'next.key'), keyFile());
    writeFileSync(join(work, 'next.crt'), readFileSync(second.certPath));
    renameSync(join(work, 'next.crt'), certFile());
    let serial = '';
    for (let i = 0; i < 200 && serial !== second.serial; i++) {
      await new Promise((r) => setTimeout(r, 50));
      serial = (await peerCertificate(port, caPem)).serialNumber;
      assert.ok(serial === first.serial || serial === second.serial, `unexpected serial ${serial}`);
    }
    assert.equal(serial, second.serial);
    assert.equal(t.server.endpoint.startsWith('http://'), true, 'the HTTP listener is still on');
  });
});

describe('mutual TLS', () => {
  let t: TestServer;
  let work: string;
  let clients: TestCa;
  let caPem: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cipherlake-mtls-'));
    clients = await makeTestCa(work, 'client-ca');
    const base = loadConfig({}, {});
    t = await startTestServer({ ...HTTPS_ON, tls: { ...base.tls, clientCa: clients.certPath, requireClientCert: true } });
    caPem = readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
  });
  after(async () => {
    await t.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('accepts a client certificate from the configured CA', async () => {
    const good = await issueLeaf(work, clients, 'alice', 'client');
    assert.equal(await health(portOf(t.httpsEndpoint), caPem, good), 200);
  });

  it('refuses a connection without a client certificate, or with one from another CA', async () => {
    await assert.rejects(health(portOf(t.httpsEndpoint), caPem), /certificate|socket hang up|ECONNRESET/i);
    const stranger = await issueLeaf(work, await makeTestCa(work, 'other-ca'), 'mallory', 'client');
    await assert.rejects(health(portOf(t.httpsEndpoint), caPem, stranger), /certificate|unknown ca|socket hang up|ECONNRESET/i);
  });

  it('leaves plain HTTP as configured (off only when http.enabled is false)', async () => {
    assert.match(t.server.endpoint, /^http:\/\//);
  });
});
