/**
 * Safe reading of a metadata file into a plain tree, before any field is looked at.
 *
 * Metadata comes from SDK providers, so the parsers are configured against the classic attacks on them:
 * - XML: any `<!DOCTYPE` or `<!ENTITY` is refused before the parser runs (that covers external entities / XXE and
 *   internal entity expansion, "billion laughs"), and fast-xml-parser runs with entity processing off as well.
 * - YAML: aliases are capped (`maxAliasCount`), so an alias bomb fails instead of expanding; only one document.
 * - All formats: the file is refused above a size cap before parsing.
 *
 * YAML is read with the failsafe schema and XML with tag-value parsing off, so every scalar arrives as a string and
 * `minimumVersion: 15.0` stays `"15.0"` instead of becoming the number 15; `validate.ts` types the fields.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseDocument } from 'yaml';
import { MetadataError, type MetadataProblem } from './errors';

export const METADATA_FORMATS = ['json', 'yaml', 'xml'] as const;
export type MetadataFormat = (typeof METADATA_FORMATS)[number];

/** File names the SDK host recognises as metadata, and the format each one holds. */
export const METADATA_FILE_NAMES: Readonly<Record<string, MetadataFormat>> = {
  'lockstep-sdk.json': 'json',
  'lockstep-sdk.yaml': 'yaml',
  'lockstep-sdk.yml': 'yaml',
  'lockstep-sdk.xml': 'xml',
};

/** Default size cap of a metadata file: 64 KiB is far above any real metadata and far below a parser attack. */
export const DEFAULT_MAX_METADATA_BYTES = 64 * 1024;

/** Default YAML alias cap. Real metadata needs no aliases; a small allowance keeps hand-written anchors working. */
export const DEFAULT_MAX_YAML_ALIASES = 10;

export interface ParseDocumentOptions {
  /** The file's name; `lockstep-sdk.{json,yaml,yml,xml}` fixes the format. @default - the format is sniffed */
  readonly fileName?: string;
  /** Forces the format. @default - from `fileName`, else sniffed from the first character */
  readonly format?: MetadataFormat;
  /** @default DEFAULT_MAX_METADATA_BYTES (64 KiB) */
  readonly maxBytes?: number;
  /** @default DEFAULT_MAX_YAML_ALIASES (10) */
  readonly maxYamlAliases?: number;
}

/**
 * The one metadata size rule, for the CLI before an upload and the server before it reads the object (so both
 * refuse the same files with the same message).
 * @throws MetadataError when `bytes` is over `maxBytes`
 */
export function checkMetadataSize(bytes: number, maxBytes = DEFAULT_MAX_METADATA_BYTES): void {
  if (bytes > maxBytes) {
    refuse({
      field: '(document)',
      message: `the metadata file is ${bytes} bytes, over the limit of ${maxBytes} bytes`,
      fix: 'keep the metadata to the documented fields; long texts belong in the docs folder of the archive',
    });
  }
}

/** Decides the format from the file name when it is one of `METADATA_FILE_NAMES`, otherwise from the content. */
export function detectMetadataFormat(text: string, fileName?: string): MetadataFormat {
  if (fileName !== undefined) {
    const base = fileName.split(/[\\/]/).pop()!.toLowerCase();
    const known = METADATA_FILE_NAMES[base];
    if (known !== undefined) return known;
  }
  const first = text.replace(/^\uFEFF/, '').trimStart()[0];
  if (first === '<') return 'xml';
  if (first === '{') return 'json';
  return 'yaml';
}

function refuse(problem: MetadataProblem, cause?: unknown): never {
  throw new MetadataError([problem], cause === undefined ? {} : { cause });
}

/**
 * Parses a metadata file into a plain tree in the canonical shape (see `index.ts`). XML list wrappers
 * (`<authors><author>…</author></authors>`) become arrays and `<dependencies>` a name -> range record.
 * @throws MetadataError when the file is too large, malformed, or uses a refused construct.
 */
export function parseMetadataDocument(
  input: string | Uint8Array,
  options: ParseDocumentOptions = {},
): { format: MetadataFormat; tree: unknown } {
  checkMetadataSize(typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength, options.maxBytes);
  const text = (
    typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8')
  ).replace(/^\uFEFF/, '');
  const format = options.format ?? detectMetadataFormat(text, options.fileName);
  switch (format) {
    case 'json':
      return { format, tree: parseJson(text) };
    case 'yaml':
      return { format, tree: parseYaml(text, options.maxYamlAliases ?? DEFAULT_MAX_YAML_ALIASES) };
    case 'xml':
      return { format, tree: parseXml(text) };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return refuse(
      {
        field: '(document)',
        message: `not valid JSON: ${(error as Error).message}`,
        fix: 'check the file with a JSON validator',
      },
      error,
    );
  }
}

function parseYaml(text: string, maxAliasCount: number): unknown {
  let doc;
  try {
    doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: true });
  } catch (error) {
    // Deeply nested input can exhaust the parser's stack; report it like any other malformed file.
    return refuse(
      {
        field: '(document)',
        message: `not valid YAML: ${(error as Error).message}`,
        fix: 'check the file with a YAML linter',
      },
      error,
    );
  }
  if (doc.errors.length > 0) {
    refuse({
      field: '(document)',
      message: `not valid YAML: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`,
      fix: 'check the file with a YAML linter; give one document, no duplicate keys',
    });
  }
  try {
    return doc.toJS({ maxAliasCount });
  } catch (error) {
    return refuse(
      {
        field: '(document)',
        message: `YAML aliases expand beyond the limit of ${maxAliasCount} (an alias bomb, or aliases used too heavily)`,
        fix: 'write the values out instead of using anchors (&) and aliases (*)',
      },
      error,
    );
  }
}

const XML_LISTS: Readonly<Record<string, string>> = {
  authors: 'author',
  'platform.architectures': 'architecture',
  dependencies: 'dependency',
};

function parseXml(text: string): unknown {
  // Refused before parsing: a DTD is the only way to declare entities, and nothing in SDK metadata needs one.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    refuse({
      field: '(document)',
      message:
        'XML with a DOCTYPE or ENTITY declaration is refused (entities can read local files or expand without bound)',
      fix: 'remove the <!DOCTYPE ...> and <!ENTITY ...> declarations and write the values out',
    });
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    refuse({
      field: '(document)',
      message: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
      fix: 'check the file with an XML validator',
    });
  }
  const parser = new XMLParser({
    processEntities: false,
    htmlEntities: false,
    ignoreAttributes: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (_name, jPath) => Object.entries(XML_LISTS).some(([list, item]) => jPath === `sdk.${list}.${item}`),
  });
  let parsed: Record<string, unknown>;
  try {
    parsed = parser.parse(text) as Record<string, unknown>;
  } catch (error) {
    // fast-xml-parser guards nesting depth itself and throws; report it as a malformed file.
    return refuse(
      {
        field: '(document)',
        message: `not accepted XML: ${(error as Error).message}`,
        fix: 'keep the documented flat shape under <sdk>',
      },
      error,
    );
  }
  const roots = Object.keys(parsed);
  if (roots.length !== 1 || roots[0] !== 'sdk') {
    refuse({
      field: '(document)',
      message: `the XML root element must be <sdk>, found ${roots.map((r) => `<${r}>`).join(', ') || 'none'}`,
      fix: 'wrap the fields in a single <sdk> ... </sdk> element',
    });
  }
  const sdk = decodeXmlText(parsed.sdk);
  if (sdk === '') return {};
  if (!isRecord(sdk)) return sdk;
  return unwrapXmlLists(sdk);
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Entity processing is off in the parser, so the five predefined XML entities and character references are decoded
 * here: they expand to one character each and cannot refer to anything else. Other references stay as written.
 */
function decodeXmlText(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /&(lt|gt|amp|quot|apos);|&#(\d{1,7});|&#x([0-9a-fA-F]{1,6});/g,
      (match, name: string | undefined, dec: string | undefined, hex: string | undefined) => {
        if (name !== undefined) return PREDEFINED_ENTITIES[name]!;
        const code = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
        return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : match;
      },
    );
  }
  if (Array.isArray(value)) return value.map(decodeXmlText);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeXmlText(v)]));
  return value;
}

/** Turns XML's wrapper elements into the canonical arrays and the dependency record. */
function unwrapXmlLists(sdk: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...sdk };
  const unwrap = (value: unknown, item: string): unknown => {
    if (value === '') return [];
    if (isRecord(value) && Object.keys(value).length === 1 && Array.isArray(value[item])) return value[item];
    return value; // left as is: validate.ts reports it as "must be a list" with the XML shape in the fix
  };
  if ('authors' in out) out.authors = unwrap(out.authors, 'author');
  if (isRecord(out.platform) && 'architectures' in out.platform) {
    out.platform = { ...out.platform, architectures: unwrap(out.platform.architectures, 'architecture') };
  }
  if ('dependencies' in out) {
    const list = unwrap(out.dependencies, 'dependency');
    out.dependencies = Array.isArray(list) ? new XmlDependencyList(list) : list;
  }
  return out;
}

/**
 * XML dependencies stay a list until validation, so that a repeated or malformed `<dependency>` can be reported
 * with its position instead of silently overwriting another.
 */
export class XmlDependencyList {
  constructor(readonly items: readonly unknown[]) {}
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof XmlDependencyList);
}
