export type { BlockDevice, WriteOptions } from './block-device.js';
export { EncryptedVolume } from './encrypted-volume.js';
export { SectorCipher, XTS_KEY_BYTES, VOLUME_BLOCK_SIZE } from './sector-cipher.js';
export {
  VolumeRangeError, VolumeClosedError, VolumeFormatError, VolumeKeyMismatchError, VolumeReadOnlyError,
  SectorCipherKeyError, NbdProtocolError, NbdConfigError,
} from './errors.js';
export { NbdServer, NBD_DEFAULT_PORT, MapExportRegistry } from './nbd/index.js';
export type { NbdServerOptions, NbdTlsOptions, ExportRegistry, PskLookup } from './nbd/index.js';
export type { NbdPeer } from './nbd/index.js';
export { createVolumeService, type VolumeService, type VolumeServiceDeps } from './volume-service.js';
export type { VolumeStore, VolumeRecord, SnapshotRecord, EbsSettings, WrappedDataKey, Tag } from './volume-store.js';
export { Attachments } from './attachments.js';
export { AWS_MANAGED_EBS_KEY, EBS_CONTEXT_KEY, type VolumeKmsCall } from './volume-keys.js';
export { EC2_MAX_BODY_BYTES, ec2Failure, type Ec2Outcome, type Ec2Authorizer } from './wire/handler.js';
export { EC2_ERROR_CODES } from './wire/error-codes.js';
export {
  Ec2VolumeNotFoundError, Ec2SnapshotNotFoundError, Ec2InvalidParameterValueError, Ec2MissingParameterError, Ec2VolumeInUseError,
  Ec2IncorrectStateError, Ec2KmsKeyNotFoundError, Ec2KmsKeyStateError, Ec2UnauthorizedError, Ec2InvalidActionError, Ec2DryRunError,
} from './errors.js';
