/**
 * CodeBuild sources that grant nothing by themselves. `codebuild.Source.s3` grants `s3:GetObject*`, `s3:GetBucket*`
 * and `s3:List*` (wildcard actions cdk-nag rightly flags); Lockstep grants each project the exact object reads it
 * needs instead (`grants.ts`).
 */
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/**
 * An S3 zip source at `<bucket>/<key>`. Grant the project `s3:GetObject` on the key (and `s3:GetBucketLocation`,
 * `s3:GetBucketAcl` on the bucket, which CodeBuild checks before downloading) yourself.
 */
export class S3ObjectSource extends codebuild.Source {
  readonly type = 'S3';

  constructor(
    private readonly bucket: s3.IBucket,
    private readonly key: string,
  ) {
    super({});
  }

  override bind(scope: Construct, project: codebuild.IProject): codebuild.SourceConfig {
    const base = super.bind(scope, project).sourceProperty;
    return { sourceProperty: { ...base, location: `${this.bucket.bucketName}/${this.key}` } };
  }
}

/**
 * A source that CodeBuild checks out through a CodeConnections connection (`auth` type CODECONNECTIONS) instead
 * of the account's GitHub credentials. Grant the project the connection's use yourself (`grantConnectionUse`).
 */
export class ConnectionSource extends codebuild.Source {
  readonly type: string;

  constructor(
    private readonly inner: codebuild.Source,
    private readonly connectionArn: string,
  ) {
    super({ ...(inner.identifier !== undefined ? { identifier: inner.identifier } : {}) });
    this.type = inner.type;
  }

  override bind(scope: Construct, project: codebuild.IProject): codebuild.SourceConfig {
    const config = this.inner.bind(scope, project);
    return {
      ...config,
      sourceProperty: { ...config.sourceProperty, auth: { type: 'CODECONNECTIONS', resource: this.connectionArn } },
    };
  }
}
