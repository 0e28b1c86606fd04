/**
 * Credentials local mode hands the AWS SDK. The local services check no signatures, but s3rver does look the access
 * key id up in its one built-in account (`S3RVER`), so every client uses that pair. They can never work on AWS.
 */
export const LOCAL_CREDENTIALS = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
} as const;
