/** The SDK half of local mode: `startSdkPublishing` (wiring), the local edge, and the CLI's connection file. */
export {
  LOCAL_SDK_NAMES,
  startSdkPublishing,
  type LocalSdkPublishing,
  type SdkPublishingOptions,
} from './sdk-publishing';
export {
  DEFAULT_LOCAL_DATA_DIR,
  readLocalSdkEndpoints,
  SDK_ENDPOINTS_FILE,
  type LocalSdkEndpoints,
} from './connection';
export { LocalEdge, type LocalEdgeOptions } from './edge';
