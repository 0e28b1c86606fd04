import { SdkError } from '../model';

/**
 * A binary could not be read: truncated, or its headers point outside the file. Names the part that is wrong so
 * the SDK owner can rebuild the artifact (a truncated upload is the usual cause).
 */
export class BinaryFormatError extends SdkError {}
