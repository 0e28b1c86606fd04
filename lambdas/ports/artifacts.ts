/** Artifact storage port (S3). */
export interface ArtifactStore {
  /** Copies an object between `s3://bucket/key` URIs (server side). */
  copy(from: string, to: string): Promise<void>;
}

/** Reads small objects of the artifacts bucket (a security diff). */
export interface ArtifactReader {
  /**
   * The object at `s3://bucket/key`: its size, and its text (UTF-8) when it is at most `maxBytes` (a larger one is
   * not read: `text` is undefined). `undefined` when there is no such object.
   */
  readText(uri: string, maxBytes: number): Promise<{ size: number; text: string | undefined } | undefined>;
}
/** Splits `s3://bucket/key/parts` into bucket and key. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new RangeError(`Not an s3:// URI with a key: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}
