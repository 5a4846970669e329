export { NbdServer, NBD_DEFAULT_PORT } from './server.js';
export type { NbdServerOptions, NbdTlsOptions } from './server.js';
export { MapExportRegistry } from './export-registry.js';
export type { ExportRegistry, NbdPeer } from './export-registry.js';
export type { PskLookup } from './handshake.js';
