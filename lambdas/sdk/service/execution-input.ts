/**
 * The input of an SDK publishing execution (`statemachines/sdk-publishing.asl.json`), built by intake and by
 * recheck-waiting.
 *
 * - `intake`: a new upload: validate, convert, stage, test, publish.
 * - `restage`: a converted package that was waiting (or a batch member) is decided again.
 * - `publish`: a tested package whose dependencies were not published yet is published now.
 */
import { z } from 'zod';

const ref = z.object({ name: z.string().min(1), version: z.string().min(1) });

export const uploadSourceSchema = z.object({
  artifactsKey: z.string().min(1),
  metadataKey: z.string().min(1),
  etag: z.string().min(1),
});

export const sdkExecutionInputSchema = z.object({
  mode: z.enum(['intake', 'restage', 'publish']),
  sdk: ref,
  upload: uploadSourceSchema.optional(),
  /** Null when the version is not part of a batch (JSONPath needs the field present). */
  batchId: z.string().min(1).nullable(),
  /** The tester CodeBuild project (`lockstep-sdk-tester`), from `LOCKSTEP_SDK_TESTER_PROJECT`. */
  testerProject: z.string().min(1),
});

export type SdkExecutionInput = z.infer<typeof sdkExecutionInputSchema>;
