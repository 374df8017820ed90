/** One satisfiable byte range, inclusive ends (as in `Content-Range`). */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; range: ByteRange }
  | { kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

/**
 * A byte position of any number of digits: beyond 2^53 it is Infinity, which compares as the huge number it
 * is (an end that large is clamped to the file like any other end past it; a start that large is past it).
 */
function byteNumber(digits: string): number {
  const significant = digits.replace(/^0+(?=\d)/, '');
  return significant.length > 15 ? Number.POSITIVE_INFINITY : Number(significant);
}

/**
 * Interprets a `Range` header against a file of `size` bytes (RFC 9110 §14.2). Decisions:
 * no header, another unit, or several ranges → the whole file (200); one `bytes=` range that is malformed,
 * reversed or starts past the end → 416; otherwise 206 with the range clamped to the file.
 * `ifRange` (an ETag) that does not match `etag` also means the whole file.
 */
export function decideRange(
  header: string | undefined,
  size: number,
  options: { ifRange?: string | undefined; etag?: string } = {},
): RangeDecision {
  if (header === undefined || header.trim() === '') return { kind: 'full' };
  if (options.ifRange !== undefined && options.ifRange !== options.etag) return { kind: 'full' };
  const trimmed = header.trim();
  const eq = trimmed.indexOf('=');
  if (eq < 0) return { kind: 'unsatisfiable' };
  if (trimmed.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const specs = trimmed
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim());
  if (specs.length > 1) return { kind: 'full' };
  const m = SPEC.exec(specs[0] ?? '');
  if (!m) return { kind: 'unsatisfiable' };
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'unsatisfiable' };
  if (first === '') {
    // Suffix range: the last N bytes (any N past the size is the whole file).
    const n = byteNumber(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - n), end: size - 1 } };
  }
  const start = byteNumber(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  if (last === '') return { kind: 'partial', range: { start, end: size - 1 } };
  const end = byteNumber(last);
  if (end < start) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: Math.min(end, size - 1) } };
}
