export type { BlockDevice, WriteOptions } from './block-device.js';
export { EncryptedVolume } from './encrypted-volume.js';
export { SectorCipher, XTS_KEY_BYTES, VOLUME_BLOCK_SIZE } from './sector-cipher.js';
export {
  VolumeRangeError, VolumeClosedError, VolumeFormatError, VolumeKeyMismatchError, VolumeReadOnlyError,
  SectorCipherKeyError, NbdProtocolError, NbdConfigError,
} from './errors.js';
export { NbdServer, NBD_DEFAULT_PORT, MapExportRegistry } from './nbd/index.js';
export type { NbdServerOptions, NbdTlsOptions, ExportRegistry, PskLookup } from './nbd/index.js';
