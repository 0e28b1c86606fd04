/** Revision artifacts in S3 (`LOCKSTEP_ARTIFACTS_BUCKET`). */
import { CopyObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri, type ArtifactStore } from '../ports/artifacts';

export class S3ArtifactStore implements ArtifactStore {
  constructor(private readonly client: S3Client) {}

  async copy(from: string, to: string): Promise<void> {
    const source = parseS3Uri(from);
    const target = parseS3Uri(to);
    await this.client.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`,
      }),
    );
  }
}
