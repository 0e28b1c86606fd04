/**
 * Maps a path in a pipeline definition (`stages[1].environments[0].windows[0].timeZone`) to the line and column
 * where it is written in the YAML (or JSON) text, using the node ranges of the `yaml` Document.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './problems';

export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * Where `path` is written. A scalar value points at the value itself (the mistake is there); a collection at its
 * key, so the user lands on the line that names it. A path that is not in the text (a missing key) points at the
 * nearest ancestor that is. Aliases are followed to their anchor.
 */
export function locate(
  document: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  preferKey = false,
): Position | undefined {
  let node: unknown = document.contents;
  let keyNode: Node | undefined;
  let found: Node | undefined = isNode(node) ? node : undefined;
  let foundKey: Node | undefined;
  let complete = true;

  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyOf(item.key) === String(segment));
      if (!pair) {
        complete = false;
        break;
      }
      keyNode = isNode(pair.key) ? pair.key : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      keyNode = undefined;
      node = node.items[segment];
    } else {
      complete = false;
      break;
    }
    if (isAlias(node)) node = node.resolve(document) ?? node;
    found = isNode(node) ? node : found;
    foundKey = keyNode;
    // A key with no value (`timeZone:`) has a null scalar without a useful range: point at the key.
    if (!isNode(node) || (isScalar(node) && node.value === null && keyNode)) found = keyNode ?? found;
  }

  const pointAtValue = complete && !preferKey && isScalar(found) && found !== foundKey;
  const target = pointAtValue ? found : (foundKey ?? found);
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function isNode(value: unknown): value is Node {
  return isScalar(value) || isMap(value) || isSeq(value) || isAlias(value);
}

function keyOf(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}
