import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { MetadataError, detectMetadataFormat, parseSdkMetadata } from '../../../lambdas/sdk/metadata';
import { GOOD_XML, GOOD_YAML, goodMetadata } from './fixtures';

const sdkExists = (name: string) => name === 'analytics';

function refusal(input: string, fileName?: string): MetadataError {
  try {
    parseSdkMetadata(input, { sdkExists, ...(fileName === undefined ? {} : { fileName }) });
  } catch (error) {
    expect(error).toBeInstanceOf(MetadataError);
    return error as MetadataError;
  }
  throw new Error('expected a MetadataError');
}

describe('metadata formats', () => {
  const fromJson = parseSdkMetadata(JSON.stringify(goodMetadata()), { fileName: 'lockstep-sdk.json', sdkExists });

  it('reads the same metadata from JSON, YAML and XML', () => {
    expect(parseSdkMetadata(GOOD_YAML, { fileName: 'lockstep-sdk.yaml', sdkExists })).toEqual(fromJson);
    expect(parseSdkMetadata(GOOD_YAML, { fileName: 'uploads/lockstep-sdk.yml', sdkExists })).toEqual(fromJson);
    expect(parseSdkMetadata(Buffer.from(GOOD_XML), { fileName: 'lockstep-sdk.xml', sdkExists })).toEqual(fromJson);
  });

  it('keeps YAML numbers-looking versions as written', () => {
    // YAML 1.2 core would turn 15.0 into 15; the failsafe schema keeps the text.
    expect(parseSdkMetadata(GOOD_YAML, { sdkExists }).platform.minimumVersion).toBe('15.0');
  });

  it('sniffs the format when the file name is not a known one', () => {
    expect(detectMetadataFormat('  {"name": "x"}', 'metadata.txt')).toBe('json');
    expect(detectMetadataFormat('\uFEFF<?xml version="1.0"?><sdk/>')).toBe('xml');
    expect(detectMetadataFormat('name: x\n')).toBe('yaml');
    expect(detectMetadataFormat('{"name": "x"}', 'lockstep-sdk.yaml')).toBe('yaml');
    expect(parseSdkMetadata(GOOD_XML, { fileName: 'upload.bin', sdkExists })).toEqual(fromJson);
  });

  it('reads YAML booleans and XML booleans as text true/false', () => {
    expect(parseSdkMetadata(`${GOOD_YAML}deprecated: true\nsupported: false\n`, { sdkExists })).toMatchObject({
      deprecated: true,
      supported: false,
    });
    expect(
      parseSdkMetadata(GOOD_XML.replace('</sdk>', '<supported>false</supported></sdk>'), { sdkExists }).supported,
    ).toBe(false);
  });

  it('reports XML shape mistakes with the XML form in the fix', () => {
    const error = refusal(
      GOOD_XML.replace('<authors><author>Acme Inc.</author></authors>', '<authors><name>Acme</name></authors>'),
    );
    expect(error.problems).toEqual([
      expect.objectContaining({ field: 'authors', fix: expect.stringContaining('<authors><author>') }),
    ]);
    const dup = refusal(
      GOOD_XML.replace(
        '</dependency></dependencies>',
        '</dependency><dependency><name>analytics</name><range>^7.0.0</range></dependency><dependency><range>1.0.0</range></dependency></dependencies>',
      ),
    );
    expect(dup.problems.map((p) => p.field)).toEqual(['dependencies.analytics', 'dependencies[2]']);
  });

  it('refuses a root element other than <sdk>, malformed XML, JSON and YAML', () => {
    expect(refusal('<package><name>x</name></package>').problems[0]!.message).toContain('root element must be <sdk>');
    expect(refusal('<sdk><name>x</sdk>').problems[0]!.message).toContain('not well-formed XML');
    expect(refusal('{"name": ', 'lockstep-sdk.json').problems[0]!.message).toContain('not valid JSON');
    expect(refusal('name: a\nname: b\n').problems[0]!.message).toContain('not valid YAML');
    expect(refusal('name: a\n---\nname: b\n').problems[0]!.message).toContain('multiple documents');
    expect(refusal('[1, 2]', 'lockstep-sdk.json').problems[0]!.message).toContain('must be a map of fields');
  });

  describe('hostile input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-xxe-'));
    const secretPath = join(dir, 'secret.txt');
    const secret = 'TOP-SECRET-CONTENT-4711';
    writeFileSync(secretPath, secret);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses XML with an external entity before parsing and reads no file', () => {
      const xxe = GOOD_XML.replace(
        '<sdk>',
        `<!DOCTYPE sdk [<!ENTITY xxe SYSTEM "file://${secretPath}">]>\n<sdk>`,
      ).replace('<license>Apache-2.0</license>', '<license>&xxe;</license>');
      const reads = (['readFileSync', 'openSync', 'readFile', 'open', 'createReadStream'] as const).map((method) =>
        jest.spyOn(fs, method),
      );
      const error = refusal(xxe, 'lockstep-sdk.xml');
      for (const spy of reads) expect(spy).not.toHaveBeenCalled();
      reads.forEach((spy) => spy.mockRestore());
      expect(error.problems).toEqual([
        expect.objectContaining({
          field: '(document)',
          message: expect.stringContaining('DOCTYPE or ENTITY declaration is refused'),
        }),
      ]);
      // Nothing from the file reached the error (or anything derived from the parse).
      expect(
        JSON.stringify({ message: error.message, problems: error.problems, details: error.details }),
      ).not.toContain(secret);
    });

    it('refuses XML internal entity expansion (billion laughs)', () => {
      const laughs =
        '<?xml version="1.0"?><!DOCTYPE sdk [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><sdk><name>&lol3;</name></sdk>';
      expect(refusal(laughs).problems[0]!.message).toContain('DOCTYPE or ENTITY declaration is refused');
    });

    it('decodes the predefined entities and character references, and leaves any other reference as text', () => {
      const metadata = parseSdkMetadata(
        GOOD_XML.replace('Vector maps for iOS.', 'Maps &amp; routes &lt;iOS&gt; &#8212; &#x263A;'),
        { sdkExists },
      );
      expect(metadata.summary).toBe('Maps & routes <iOS> \u2014 \u263A');
      const error = refusal(GOOD_XML.replace('<name>acme-maps</name>', '<name>&xxe;</name>'));
      expect(error.problems).toEqual([
        expect.objectContaining({ field: 'name', message: '"&xxe;" is not a valid SDK name' }),
      ]);
    });

    it('refuses a YAML alias bomb', () => {
      const bomb = [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
        'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      ].join('\n');
      const error = refusal(bomb, 'lockstep-sdk.yaml');
      expect(error.problems).toEqual([
        expect.objectContaining({ field: '(document)', message: expect.stringContaining('alias bomb') }),
      ]);
    });

    it('allows a few YAML aliases', () => {
      const yaml = GOOD_YAML.replace('authors: [Acme Inc.]', 'authors: [&acme Acme Inc.]').replace(
        'license: Apache-2.0',
        'license: Apache-2.0\nx-owner: *acme',
      );
      // The alias itself is fine; the unknown field is what gets reported.
      expect(refusal(yaml).problems.map((p) => p.field)).toEqual(['x-owner']);
    });

    it('refuses a metadata file over the size cap before parsing it', () => {
      const big = JSON.stringify(goodMetadata({ description: 'd'.repeat(70 * 1024) }));
      expect(refusal(big, 'lockstep-sdk.json').problems[0]!.message).toMatch(/over the limit of 65536 bytes/);
      expect(() => parseSdkMetadata(big, { sdkExists, maxBytes: 128 * 1024 })).not.toThrow();
    });

    it('reports deeply nested YAML and XML as malformed rather than crashing', () => {
      const deepYaml = `name: ${'['.repeat(20_000)}${']'.repeat(20_000)}`;
      expect(refusal(deepYaml, 'lockstep-sdk.yaml')).toBeInstanceOf(MetadataError);
      const deepXml = `<sdk>${'<a>'.repeat(5_000)}${'</a>'.repeat(5_000)}</sdk>`;
      expect(refusal(deepXml, 'lockstep-sdk.xml')).toBeInstanceOf(MetadataError);
    });
  });
});
