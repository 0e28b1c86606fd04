/**
 * The consumer manifest: which SDKs an app wants, with semver ranges.
 *
 * @example lockstep-sdk.yaml
 * sdks:
 *   maps: "^2.0.0"
 *   social: ">=1.3.0 <2.0.0"
 */
import semver from 'semver';
import { parse } from 'yaml';
import { z } from 'zod';
import { normalizeRange } from '../metadata/ranges';
import { ConsumerManifestError } from './errors';

export const CONSUMER_MANIFEST_NAME = 'lockstep-sdk.yaml';

const SDK_NAME = /^[a-z0-9][a-z0-9-]*$/;

const manifestSchema = z.strictObject({
  sdks: z
    .record(
      z.string().regex(SDK_NAME, { message: 'is not an SDK name; SDK names are lower-case letters, digits and "-"' }),
      // CocoaPods' `~>` keeps CocoaPods' meaning here too (`normalizeRange`).
      z
        .string()
        .transform(normalizeRange)
        .refine((range) => semver.validRange(range) !== null, {
          message: 'is not a semver range; write e.g. "^2.0.0", ">=1.3.0 <2.0.0" or "~> 2.0"',
        }),
    )
    .refine((sdks) => Object.keys(sdks).length > 0, { message: 'lists no SDK; add at least one, e.g. maps: "^2.0.0"' }),
});

export interface ConsumerManifest {
  /** SDK name -> semver range. */
  readonly sdks: Readonly<Record<string, string>>;
}

/**
 * Parses a consumer manifest (YAML or JSON), reporting every problem at once.
 *
 * @throws ConsumerManifestError
 */
export function parseConsumerManifest(text: string, source = CONSUMER_MANIFEST_NAME): ConsumerManifest {
  let data: unknown;
  try {
    // A small alias budget: a manifest has no reason for anchors, and alias bombs stop early.
    data = parse(text, { maxAliasCount: 10 });
  } catch (cause) {
    throw new ConsumerManifestError(source, [`is not valid YAML: ${(cause as Error).message}`]);
  }
  const result = manifestSchema.safeParse(data);
  if (!result.success) {
    throw new ConsumerManifestError(
      source,
      result.error.issues.map((issue) => {
        const path = issue.path.join('.') || '(root)';
        if (issue.code === 'unrecognized_keys')
          return `${path}: unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}; only "sdks" is allowed`;
        // A bad record key reports "Invalid key in record"; the key's own rule says what is wrong with it.
        if (issue.code === 'invalid_key') return `${path}: ${issue.issues[0]?.message ?? issue.message}`;
        return `${path}: ${issue.message}`;
      }),
    );
  }
  return { sdks: result.data.sdks };
}
