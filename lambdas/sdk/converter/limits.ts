/**
 * Limits an input archive must stay within. Every field has a default; pass a partial object to override.
 */
export interface ArchiveLimits {
  /** Most entries (files and folders) in the central directory. @default 50_000 */
  readonly maxEntries: number;
  /** Most decompressed bytes over all entries, declared and actually read. @default 2 GiB */
  readonly maxTotalBytes: number;
  /**
   * Highest uncompressed / compressed ratio of one entry. Deflate tops out near 1032:1, so a ratio of 200 still
   * lets real data (sparse binaries, text) through while stopping bombs early. @default 200
   */
  readonly maxCompressionRatio: number;
  /**
   * Entries up to this uncompressed size skip the ratio rule: a 100 KB header of zeros is harmless, and the total
   * limit bounds many small entries together. @default 1 MiB
   */
  readonly ratioExemptBytes: number;
  /** Longest entry path in UTF-8 bytes; keeps the in-memory central directory small. @default 512 */
  readonly maxPathBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  maxEntries: 50_000,
  maxTotalBytes: 2 * 1024 ** 3,
  maxCompressionRatio: 200,
  ratioExemptBytes: 1024 ** 2,
  maxPathBytes: 512,
});

export function resolveLimits(overrides: Partial<ArchiveLimits> = {}): ArchiveLimits {
  return { ...DEFAULT_ARCHIVE_LIMITS, ...overrides };
}
