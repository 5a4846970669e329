import { SecretBytes } from '../crypto/secret-bytes.js';
import type { BlockDevice } from './block-device.js';
import type { EncryptedVolume } from './encrypted-volume.js';
import type { ExportRegistry, NbdPeer } from './nbd/export-registry.js';

/** Bytes of each attachment's TLS pre-shared key. */
export const PSK_BYTES = 32;

/** One attached volume: its open device (holding the unwrapped key) and the NBD credentials. */
export interface Attachment {
  readonly volumeId: string;
  readonly instanceId: string;
  readonly device: string;
  readonly attachedAt: Date;
  /** The TLS-PSK identity (the user part of the NBD URI): the volume id. */
  readonly pskIdentity: string;
}

interface Entry extends Attachment {
  readonly volume: EncryptedVolume;
  readonly psk: SecretBytes;
}

/**
 * The volumes attached right now, as the NBD server sees them: an export per attached
 * volume, named by its volume id, served only to a client that proved that attachment's
 * PSK (its TLS-PSK identity is the volume id). Unwrapped volume keys exist only inside the
 * open EncryptedVolume of an entry; `detach` closes it, which zeroes the key, and zeroes
 * the PSK. Nothing is persisted: after a restart every volume is detached.
 */
export class Attachments implements ExportRegistry {
  readonly #entries = new Map<string, Entry>();

  /** The attachment of a volume, if attached. */
  get(volumeId: string): Attachment | undefined {
    return this.#entries.get(volumeId);
  }

  /** The open device of an attached volume (for point-in-time snapshots). */
  device(volumeId: string): EncryptedVolume | undefined {
    return this.#entries.get(volumeId)?.volume;
  }

  /**
   * Records an attachment of an open volume and returns its fresh random PSK (hex, for
   * the caller only). The caller has checked that the volume is not attached.
   */
  add(attachment: Omit<Attachment, 'pskIdentity'>, volume: EncryptedVolume): { pskIdentity: string; pskHex: string } {
    const psk = SecretBytes.random(PSK_BYTES);
    this.#entries.set(attachment.volumeId, { ...attachment, pskIdentity: attachment.volumeId, volume, psk });
    return { pskIdentity: attachment.volumeId, pskHex: Buffer.from(psk.unsafeBytes()).toString('hex') };
  }

  /**
   * Removes an attachment: new NBD connections are refused at once; the volume is closed
   * (in-flight requests finish, then its key is zeroed) and the PSK zeroed. False if the
   * volume was not attached.
   */
  async remove(volumeId: string): Promise<boolean> {
    const entry = this.#entries.get(volumeId);
    if (entry === undefined) return false;
    this.#entries.delete(volumeId);
    entry.psk.dispose();
    await entry.volume.close();
    return true;
  }

  /** Detaches everything (server shutdown). */
  async closeAll(): Promise<void> {
    for (const id of [...this.#entries.keys()]) await this.remove(id);
  }

  /** The PSK for a TLS-PSK identity, or undefined (the TLS handshake then fails). */
  readonly pskFor = (identity: string): Uint8Array | undefined => {
    const entry = this.#entries.get(identity);
    return entry === undefined ? undefined : Buffer.from(entry.psk.unsafeBytes());
  };

  lookup(name: string, peer?: NbdPeer): BlockDevice | undefined {
    if (peer?.pskIdentity !== name) return undefined;
    return this.#entries.get(name)?.volume;
  }

  list(peer?: NbdPeer): string[] {
    const id = peer?.pskIdentity;
    return id !== undefined && this.#entries.has(id) ? [id] : [];
  }
}
