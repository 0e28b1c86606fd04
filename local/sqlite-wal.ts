import { open, stat, writeFile } from 'node:fs/promises';

/**
 * Puts DynamoDB Local's SQLite file in write-ahead-log mode before the Java process opens it.
 *
 * Why: DynamoDB Local stores every table in one SQLite file, in SQLite's default rollback-journal mode, where each
 * item written is a transaction that creates, syncs and deletes a journal file beside the database. A
 * `BatchWriteItem` of 9 items (a step's timeline entries) took 130-190 ms on this disk, and the writes were most
 * of a promotion hop's engine time. In WAL mode a commit appends to one log: the same batch takes about 15 ms. WAL
 * is as durable as the rollback journal (a committed write survives a crash), so local mode keeps its promise that
 * state lives on disk.
 *
 * How: WAL mode is persistent in the database header (bytes 18 and 19, the file format write and read versions:
 * 1 rollback journal, 2 WAL; https://www.sqlite.org/fileformat2.html#database_header), and SQLite opens a file in
 * the mode its header says. DynamoDB Local offers no option for it and this machine has no SQLite binding for Node
 * (Node 20 has no `node:sqlite`; native modules cannot download their prebuilt binaries here), so the header is
 * set while no process has the file open:
 * - no file yet (a new data folder): an empty database of one page with the WAL versions, exactly what
 *   `sqlite3 file 'PRAGMA journal_mode=WAL'` writes; DynamoDB Local creates its tables in it;
 * - a rollback-journal file from before: its two version bytes are set to 2, unless a journal beside it says a
 *   transaction was cut short (SQLite rolls that back on the next open; the start after it converts the file);
 * - anything else (WAL already, an unknown header, an empty file) is left as it is.
 *
 * @returns what it did, for tests and the start log.
 */
export async function preferWriteAheadLog(
  databaseFile: string,
): Promise<'created' | 'converted' | 'already' | 'left-alone'> {
  const existing = await stat(databaseFile).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!existing) {
    try {
      await writeFile(databaseFile, emptyWalDatabase(), { flag: 'wx' });
      return 'created';
    } catch (error) {
      // Another process created it between the check and the write: its file, its mode.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'left-alone';
      throw error;
    }
  }
  if (existing.size < HEADER_BYTES) return 'left-alone';
  const hotJournal = await stat(`${databaseFile}-journal`).then(
    (journal) => journal.size > 0,
    () => false,
  );
  const file = await open(databaseFile, 'r+');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    await file.read(header, 0, HEADER_BYTES, 0);
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) return 'left-alone';
    const [write, read] = [header[WRITE_VERSION_OFFSET], header[WRITE_VERSION_OFFSET + 1]];
    if (write === WAL && read === WAL) return 'already';
    if (write !== ROLLBACK || read !== ROLLBACK || hotJournal) return 'left-alone';
    await file.write(Buffer.from([WAL, WAL]), 0, 2, WRITE_VERSION_OFFSET);
    await file.sync();
    return 'converted';
  } finally {
    await file.close();
  }
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;
const WRITE_VERSION_OFFSET = 18;
const ROLLBACK = 1;
const WAL = 2;
const PAGE_SIZE = 4096;

/**
 * An empty SQLite database in WAL mode: the 100-byte header and page 1 as an empty table b-tree leaf (the schema
 * table with no rows), field by field as the file format defines them.
 */
export function emptyWalDatabase(): Buffer {
  const page = Buffer.alloc(PAGE_SIZE);
  MAGIC.copy(page, 0);
  page.writeUInt16BE(PAGE_SIZE, 16);
  page[18] = WAL; // file format write version
  page[19] = WAL; // file format read version
  page[20] = 0; // reserved bytes per page
  page[21] = 64; // maximum embedded payload fraction (must be 64)
  page[22] = 32; // minimum embedded payload fraction (must be 32)
  page[23] = 32; // leaf payload fraction (must be 32)
  page.writeUInt32BE(1, 24); // file change counter
  page.writeUInt32BE(1, 28); // database size in pages
  page.writeUInt32BE(1, 92); // version-valid-for: equals the change counter, so the size above is trusted
  page.writeUInt32BE(3_040_001, 96); // SQLITE_VERSION_NUMBER of the writer (informational)
  // Page 1's b-tree header, after the file header: a table leaf (13) with no cells, content area at the page end.
  page[100] = 0x0d;
  page.writeUInt16BE(0, 101); // first freeblock
  page.writeUInt16BE(0, 103); // number of cells
  page.writeUInt16BE(PAGE_SIZE, 105); // start of the cell content area
  page[107] = 0; // fragmented free bytes
  return page;
}
