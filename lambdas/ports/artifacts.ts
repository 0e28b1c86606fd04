/** Artifact storage port (S3). */
export interface ArtifactStore {
  /** Copies an object between `s3://bucket/key` URIs (server side). */
  copy(from: string, to: string): Promise<void>;
}

/** Splits `s3://bucket/key/parts` into bucket and key. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new RangeError(`Not an s3:// URI with a key: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}
