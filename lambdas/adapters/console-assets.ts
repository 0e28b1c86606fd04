/**
 * The console's static front end (`console/` at the repository root: HTML, CSS and ES modules, no build step),
 * read from a folder: the repository's in local mode and tests, the bundle's copy on Lambda. Only plain file
 * names of the folder itself are served, each with its content type; the files are read once and kept.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConsoleAssetSource, StaticAsset } from '../console/dependencies';

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  json: 'application/json',
};

export class ConsoleAssets implements ConsoleAssetSource {
  private readonly cache = new Map<string, Promise<StaticAsset | undefined>>();

  constructor(private readonly dir: string) {}

  /** The file `name` (e.g. `app.js`), or undefined when it is not a servable file of the folder. */
  get(name: string): Promise<StaticAsset | undefined> {
    const match = /^[a-z0-9][a-z0-9-]*\.([a-z]+)$/.exec(name);
    const contentType = match ? TYPES[match[1]!] : undefined;
    if (!contentType) return Promise.resolve(undefined);
    let asset = this.cache.get(name);
    if (!asset) {
      asset = readFile(join(this.dir, name)).then(
        (body) => ({ body, contentType }),
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        },
      );
      this.cache.set(name, asset);
    }
    return asset;
  }
}
