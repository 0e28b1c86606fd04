/**
 * The SDK converter: accepted SDK version -> package zip in the common format. See `convert.ts` for the flow,
 * `layout.ts` for the folder hierarchy, `podspec.ts` and `../metadata/cocoapods-requirements.ts` for the spec,
 * `limits.ts` for the hostile-archive limits.
 */
export {
  convertSdkPackage,
  type ConvertSdkInput,
  type ConvertedPackage,
  type ManifestFile,
  type PackageManifest,
  type SwiftBinaryTarget,
} from './convert';
export { toCocoaPodsRequirements, type CocoaPodsRequirementResult } from '../metadata/cocoapods-requirements';
export {
  HostileArchiveError,
  InvalidArchiveError,
  PackageLayoutError,
  PackageSinkError,
  type HostileArchiveRule,
} from './errors';
export { inspectArchive, type ArchiveSource, type CheckedEntry } from './inspect-archive';
export { placeInputPath, planLayout, type PackageLayout } from './layout';
export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './limits';
export { buildPodspec, type Podspec, type PodspecOptions } from './podspec';
export { S3RandomAccessReader, type S3RandomAccessReaderOptions } from './s3-random-access-reader';
export { LocalFileSink, S3MultipartSink, type PackageSink, type S3MultipartSinkOptions } from './sinks';
