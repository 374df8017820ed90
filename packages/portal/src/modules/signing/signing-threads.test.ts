import { createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { generateSigningKeyPair, loadSigningKey, type SigningKey } from '@wispanel/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { SigningThreads } from './signing-threads';

// Real Ed25519 keys and real worker threads; the failing workers below are our own stand-ins for a thread that
// crashes or hangs (neither can be provoked in the real worker from outside).

const key = (): SigningKey => loadSigningKey(generateSigningKeyPair().privateKeyPem);
const opened: SigningThreads[] = [];
const threads = (n: number, options?: ConstructorParameters<typeof SigningThreads>[1]) => {
  const t = new SigningThreads(n, options);
  opened.push(t);
  return t;
};
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

/** `n` different inputs of different lengths. */
const inputs = (n: number) => Array.from({ length: n }, (_, i) => randomBytes(20 + i * 7));

function expectSignedBy(sig: Uint8Array, input: Buffer, k: SigningKey): void {
  expect(Buffer.from(sig)).toEqual(sign(null, input, k.privateKey));
  expect(verify(null, input, createPublicKey(k.privateKey), sig)).toBe(true);
}

describe('SigningThreads', () => {
  it.each([1, 2])(
    'with %i thread(s) signs exactly what crypto.sign signs, each item with its own key, in order',
    async (n) => {
      const pool = threads(n);
      const [a, b] = [key(), key()];
      const xs = inputs(60);
      // One turn of the event loop: the lot goes out as one batch per thread, two keys interleaved.
      const sigs = await Promise.all(xs.map((x, i) => pool.sign(x, i % 3 === 0 ? b : a)));
      for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, i % 3 === 0 ? b : a);
      // The next turns go to the threads in turn, which learn the keys they were not sent yet.
      for (let round = 0; round < 3; round++) {
        const more = inputs(5);
        const got = await Promise.all(more.map((x) => pool.sign(x, b)));
        for (const [i, x] of more.entries()) expectSignedBy(got[i]!, x, b);
      }
      expect(pool.running()).toBe(n);
    },
  );

  it('signs with a rotated key as soon as it is the one passed', async () => {
    const pool = threads(1);
    const [old, rotated] = [key(), key()];
    const x = inputs(1)[0]!;
    expectSignedBy(await pool.sign(x, old), x, old);
    expectSignedBy(await pool.sign(x, rotated), x, rotated);
    expect(Buffer.from(await pool.sign(x, old))).not.toEqual(Buffer.from(await pool.sign(x, rotated)));
  });

  it('with 0 threads signs on the event loop and starts none', async () => {
    const pool = threads(0);
    const k = key();
    const xs = inputs(10);
    const sigs = await Promise.all(xs.map((x) => pool.sign(x, k)));
    for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    expect(pool.running()).toBe(0);
  });

  it('a thread that dies with work in hand: every item is still signed right (here), the failure is told, and the slot waits before a new thread', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      restartAfterMs: 60_000,
      workerSource: `require('node:worker_threads').parentPort.on('message', () => process.exit(7));`,
    });
    const k = key();
    const xs = inputs(20);
    const sigs = await Promise.all(xs.map((x) => pool.sign(x, k)));
    for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('exited with 7');
    expect(pool.running()).toBe(0);
    // Within restartAfterMs: signed here, no new thread started, nothing more reported.
    const again = inputs(3);
    const got = await Promise.all(again.map((x) => pool.sign(x, k)));
    for (const [i, x] of again.entries()) expectSignedBy(got[i]!, x, k);
    expect(pool.running()).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('after restartAfterMs a failed slot gets a new thread', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      restartAfterMs: 0,
      workerSource: `require('node:worker_threads').parentPort.on('message', () => process.exit(7));`,
    });
    const k = key();
    for (let i = 0; i < 3; i++) {
      const x = inputs(1)[0]!;
      expectSignedBy(await pool.sign(x, k), x, k);
    }
    // Each batch met a new (failing) thread: three threads tried, three failures told.
    expect(errors).toHaveLength(3);
  });

  it('a thread that does not answer: the batch is signed here after answerWithinMs and the thread replaced', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      answerWithinMs: 150,
      workerSource: `require('node:worker_threads').parentPort.on('message', () => {});`,
    });
    const k = key();
    const xs = inputs(4);
    const started = Date.now();
    const sigs = await Promise.all(xs.map((x) => pool.sign(x, k)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    expect(String(errors[0])).toContain('did not answer within 150 ms');
    expect(pool.running()).toBe(0);
  });

  it('close() signs what is queued, stops the threads, and later calls sign here', async () => {
    const pool = threads(2);
    const k = key();
    const xs = inputs(8);
    const pending = xs.map((x) => pool.sign(x, k));
    await pool.close();
    const sigs = await Promise.all(pending);
    for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    expect(pool.running()).toBe(0);
    const x = inputs(1)[0]!;
    expectSignedBy(await pool.sign(x, k), x, k);
    expect(pool.running()).toBe(0);
  });
});
