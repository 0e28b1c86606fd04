/**
 * Static archives (`!<arch>` `.a` files) as built by GNU `ar` (`/` and `//` tables, `name/` members) and BSD/Apple
 * `ar` (`#1/<length>` names, `__.SYMDEF` tables). Members are handed back as windows of the archive, not copies.
 */
import { BinaryFormatError } from './errors';
import { sliceReader, type RandomAccessReader } from './reader';

export const ARCHIVE_MAGIC = Buffer.from('!<arch>\n', 'latin1');
export const THIN_ARCHIVE_MAGIC = Buffer.from('!<thin>\n', 'latin1');

export interface ArchiveMember {
  readonly name: string;
  readonly reader: RandomAccessReader;
}

const HEADER_SIZE = 60;

export async function* archiveMembers(reader: RandomAccessReader): AsyncGenerator<ArchiveMember> {
  let position = ARCHIVE_MAGIC.length;
  let longNames: Buffer | undefined;
  while (position + HEADER_SIZE <= reader.size) {
    const header = await reader.read(position, HEADER_SIZE);
    if (header[58] !== 0x60 || header[59] !== 0x0a) {
      throw new BinaryFormatError(
        `The static archive has a malformed member header at byte ${position}; rebuild it with ar`,
        { details: { position } },
      );
    }
    const rawName = header.toString('latin1', 0, 16).trimEnd();
    const size = Number.parseInt(header.toString('latin1', 48, 58).trim(), 10);
    if (!Number.isSafeInteger(size) || size < 0)
      throw new BinaryFormatError(`The static archive member at byte ${position} has no valid size`);
    let dataStart = position + HEADER_SIZE;
    let dataSize = size;
    let name = rawName;
    if (rawName.startsWith('#1/')) {
      // BSD: the name follows the header and counts towards the member size.
      const length = Number.parseInt(rawName.slice(3), 10);
      name = (await reader.read(dataStart, length)).toString('utf8').replace(/\0+$/, '');
      dataStart += length;
      dataSize -= length;
    } else if (rawName === '//') {
      longNames = await reader.read(dataStart, size);
      name = '';
    } else if (/^\/\d+$/.test(rawName) && longNames !== undefined) {
      const offset = Number.parseInt(rawName.slice(1), 10);
      const end = longNames.indexOf('/\n', offset, 'latin1');
      name = longNames.toString('utf8', offset, end < 0 ? longNames.length : end);
    } else if (rawName.endsWith('/') && rawName !== '/') {
      name = rawName.slice(0, -1);
    }
    position = position + HEADER_SIZE + size + (size % 2);
    // Symbol index tables and the long-name table are bookkeeping, not objects.
    if (name === '' || rawName === '/' || rawName === '/SYM64/' || name.startsWith('__.SYMDEF')) continue;
    yield { name, reader: sliceReader(reader, dataStart, dataSize) };
  }
}
