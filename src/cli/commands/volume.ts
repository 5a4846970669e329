import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { XMLParser } from 'fast-xml-parser';
import { loadConfig, type CipherlakeConfig, type ConfigFlags } from '../../config/config.js';
import { CliArgumentError } from '../errors.js';
import { signedFormPost } from '../sigv4-client.js';
import { cliRootCredentials } from '../root-credentials.js';

/** Options of `cipherlake volume attach|detach`. */
export interface VolumeCommandOptions extends Pick<ConfigFlags, 'config' | 'dataDir'> {
  /** The edge endpoint; default the configured HTTP listener. */
  readonly endpoint?: string;
  readonly instanceId?: string;
  readonly device?: string;
  /** Where the PSK file goes; default DATA_DIR/nbd-psk/VOLUME_ID/keys.psk. */
  readonly pskFile?: string;
}

/** What `attach` hands back: the URI to give qemu-img or nbdcopy, and the PSK file it names. */
export interface VolumeAttachResult {
  readonly uri: string;
  readonly pskFile: string;
  readonly pskIdentity: string;
}

const VOLUME_ID = /^vol-[0-9a-f]{8,17}$/;
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

/**
 * Attaches a volume through the EC2 API (AttachVolume, signed with the root credentials
 * of the configuration or data directory) and writes the attachment's PSK, in the
 * `identity:hexkey` format of qemu's and libnbd's keys.psk, to a 0600 file in a 0700
 * directory. Raises CliArgumentError for a malformed id, DataDirError without
 * credentials, and an Error with EC2's code and message when the server refuses.
 * The PSK is written only to that file, never printed. `env` is read like the server
 * reads it (CIPHERLAKE_* settings, root credentials).
 */
export async function attachVolumeWithCli(volumeId: string, opts: VolumeCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<VolumeAttachResult> {
  if (!VOLUME_ID.test(volumeId)) throw new CliArgumentError(`not a volume id: ${volumeId}`);
  const config = loadConfig(opts, env);
  const answer = await callEc2(config, opts, {
    Action: 'AttachVolume', Version: '2016-11-15', VolumeId: volumeId, InstanceId: opts.instanceId ?? 'i-00000000cafef00d0', Device: opts.device ?? '/dev/sdf',
  });
  const nbd = answer.cipherlakeNbd as { uri?: string; pskIdentity?: string; pskKey?: string } | undefined;
  if (nbd?.uri === undefined || nbd.pskIdentity === undefined || nbd.pskKey === undefined) {
    throw new Error('the server attached the volume but runs no NBD listener (nbd.enabled is false)');
  }
  const pskFile = opts.pskFile ?? join(config.dataDir, 'nbd-psk', volumeId, 'keys.psk');
  mkdirSync(join(pskFile, '..'), { recursive: true, mode: 0o700 });
  rmSync(pskFile, { force: true });
  writeFileSync(pskFile, `${nbd.pskIdentity}:${nbd.pskKey}\n`, { mode: 0o600, flag: 'wx' });
  return { uri: `${nbd.uri}?tls-psk-file=${pskFile}`, pskFile, pskIdentity: nbd.pskIdentity };
}

/**
 * Detaches a volume (DetachVolume): the server drops the volume key and the PSK from
 * memory. Removes the PSK file that `attach` wrote. Raises like attachVolumeWithCli.
 */
export async function detachVolumeWithCli(volumeId: string, opts: VolumeCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!VOLUME_ID.test(volumeId)) throw new CliArgumentError(`not a volume id: ${volumeId}`);
  const config = loadConfig(opts, env);
  await callEc2(config, opts, { Action: 'DetachVolume', Version: '2016-11-15', VolumeId: volumeId });
  rmSync(opts.pskFile ?? join(config.dataDir, 'nbd-psk', volumeId, 'keys.psk'), { force: true });
}

/** `cipherlake volume attach|detach`. */
export function registerVolumeCommand(program: Command): void {
  const volume = program.command('volume').description('attach encrypted volumes for NBD clients (qemu-img, nbdcopy, nbd-client)');
  const common = (c: Command): Command =>
    c
      .option('-c, --config <file>', 'JSON config file (also CIPHERLAKE_CONFIG)')
      .option('-d, --data-dir <dir>', 'data directory (also CIPHERLAKE_DATA_DIR; default ./.cipherlake)')
      .option('-e, --endpoint <url>', 'Cipherlake endpoint (default: the configured HTTP listener)')
      .option('--psk-file <path>', 'where the PSK file goes (default DATA_DIR/nbd-psk/VOLUME_ID/keys.psk)');
  common(volume.command('attach <volumeId>'))
    .description('attach a volume and print its NBD URI (nbds://…?tls-psk-file=…); the PSK goes to a 0600 file')
    .option('--instance-id <id>', 'instance id recorded with the attachment (any i-… id)')
    .option('--device <name>', 'device name recorded with the attachment', '/dev/sdf')
    .action(async (volumeId: string, opts: VolumeCommandOptions) => {
      const r = await attachVolumeWithCli(volumeId, opts);
      process.stdout.write(`${r.uri}\n`);
      process.stderr.write(`PSK file: ${r.pskFile} (qemu: --object tls-creds-psk,id=tls0,endpoint=client,dir=${join(r.pskFile, '..')},username=${r.pskIdentity})\n`);
    });
  common(volume.command('detach <volumeId>'))
    .description('detach a volume: the server forgets its key and the PSK')
    .action(async (volumeId: string, opts: VolumeCommandOptions) => {
      await detachVolumeWithCli(volumeId, opts);
    });
}

async function callEc2(config: CipherlakeConfig, opts: VolumeCommandOptions, form: Record<string, string>): Promise<Record<string, unknown>> {
  const endpoint = opts.endpoint ?? `http://${config.http.host}:${config.http.port}`;
  const res = await signedFormPost(endpoint, 'ec2', config.region, cliRootCredentials(config), form, config.accountId);
  const doc = parser.parse(res.text) as Record<string, Record<string, unknown>>;
  if (res.status !== 200) {
    const error = (doc.Response?.Errors as { Error?: { Code?: string; Message?: string } } | undefined)?.Error;
    throw new Error(`${form.Action ?? ''} failed: ${error?.Code ?? `HTTP ${res.status}`}: ${error?.Message ?? ''}`);
  }
  return doc[`${form.Action ?? ''}Response`] ?? {};
}
