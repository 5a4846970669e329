import type { BlockDevice } from '../block-device.js';

/** What the server knows of the client asking: whether TLS is up and, with TLS-PSK, its identity. */
export interface NbdPeer {
  readonly tls: boolean;
  readonly pskIdentity?: string;
}

/**
 * Which volumes the NBD server exports: only attached ones. The EC2 attach/detach code
 * implements this; the server asks it on every connection and never caches the answer,
 * so a detached volume stops being offered to new connections at once.
 */
export interface ExportRegistry {
  /** The device exported under `name`, or undefined (the server then refuses the name). */
  lookup(name: string, peer?: NbdPeer): BlockDevice | undefined;
  /** Names to show to NBD_OPT_LIST (to this peer). */
  list(peer?: NbdPeer): string[];
}

/** An ExportRegistry over a Map; for tests, benchmarks and a single-node server. */
export class MapExportRegistry implements ExportRegistry {
  readonly #exports = new Map<string, BlockDevice>();

  /** Exports `device` as `name`, replacing any device of that name. */
  attach(name: string, device: BlockDevice): void {
    this.#exports.set(name, device);
  }

  /** Stops exporting `name`; connections already open keep their device. */
  detach(name: string): boolean {
    return this.#exports.delete(name);
  }

  lookup(name: string): BlockDevice | undefined {
    return this.#exports.get(name);
  }

  list(): string[] {
    return [...this.#exports.keys()];
  }
}
