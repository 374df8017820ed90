import { describe, expect, it } from 'vitest';
import { decideRange } from './byte-range';

describe('decideRange', () => {
  it('serves the whole file without a usable Range', () => {
    expect(decideRange(undefined, 100)).toEqual({ kind: 'full' });
    expect(decideRange('', 100)).toEqual({ kind: 'full' });
    expect(decideRange('items=0-5', 100)).toEqual({ kind: 'full' });
    expect(decideRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' });
  });

  it('single ranges: open, closed, suffix, clamped', () => {
    expect(decideRange('bytes=10-', 100)).toEqual({ kind: 'partial', range: { start: 10, end: 99 } });
    expect(decideRange('bytes=10-19', 100)).toEqual({ kind: 'partial', range: { start: 10, end: 19 } });
    expect(decideRange('bytes=-10', 100)).toEqual({ kind: 'partial', range: { start: 90, end: 99 } });
    expect(decideRange('bytes=-500', 100)).toEqual({ kind: 'partial', range: { start: 0, end: 99 } });
    expect(decideRange('bytes=90-500', 100)).toEqual({ kind: 'partial', range: { start: 90, end: 99 } });
  });

  it('clamps a huge end (or suffix) the same way whatever its number of digits', () => {
    const whole = { kind: 'partial', range: { start: 0, end: 99 } };
    for (const end of ['999', '999999999999999', '9999999999999999', '99999999999999999999', '9'.repeat(400)])
      expect(decideRange(`bytes=0-${end}`, 100), end).toEqual(whole);
    expect(decideRange(`bytes=-${'9'.repeat(30)}`, 100)).toEqual(whole);
    expect(decideRange(`bytes=10-${'9'.repeat(30)}`, 100)).toEqual({
      kind: 'partial',
      range: { start: 10, end: 99 },
    });
    // a start past the end is unsatisfiable at any size; so is a reversed range
    expect(decideRange(`bytes=${'9'.repeat(30)}-`, 100)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange(`bytes=${'9'.repeat(30)}-${'9'.repeat(31)}`, 100)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange(`bytes=${'0'.repeat(30)}5-9`, 100)).toEqual({
      kind: 'partial',
      range: { start: 5, end: 9 },
    });
  });

  it('unsatisfiable or malformed byte ranges → 416', () => {
    for (const h of [
      'bytes=100-',
      'bytes=200-300',
      'bytes=20-10',
      'bytes=-0',
      'bytes=abc',
      'bytes=-',
      'bytes',
      'bytes=1-2-3',
    ]) {
      expect(decideRange(h, 100)).toEqual({ kind: 'unsatisfiable' });
    }
    expect(decideRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('If-Range with another ETag means the whole file', () => {
    expect(decideRange('bytes=10-', 100, { ifRange: '"old"', etag: '"new"' })).toEqual({ kind: 'full' });
    expect(decideRange('bytes=10-', 100, { ifRange: '"new"', etag: '"new"' })).toEqual({
      kind: 'partial',
      range: { start: 10, end: 99 },
    });
  });
});
