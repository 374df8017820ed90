import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { generateSigningKeyPair, loadSigningKey, type SigningKey } from '@wispanel/contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SIGNING_WORKER_SOURCE, SigningThreads } from './signing-threads';

// Real Ed25519 keys and real worker threads; the failing workers below are our own stand-ins for a thread that
// crashes, throws, hangs or answers late (none can be provoked in the real worker from outside).

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
const turn = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectSignedBy(sig: Uint8Array, input: Buffer, k: SigningKey): void {
  expect(Buffer.from(sig)).toEqual(sign(null, input, k.privateKey));
  expect(verify(null, input, createPublicKey(k.privateKey), sig)).toBe(true);
}

const EXITS = `require('node:worker_threads').parentPort.on('message', () => process.exit(7));`;

describe('SigningThreads', () => {
  it.each([1, 2])(
    'with %i thread(s) signs exactly what crypto.sign signs, each item with its own key, in order, one batch a turn',
    async (n) => {
      const pool = threads(n);
      const [a, b] = [key(), key()];
      const xs = inputs(60);
      // One turn of the event loop: the lot goes out as one batch, two keys interleaved.
      const sigs = await Promise.all(xs.map((x, i) => pool.sign(x, i % 3 === 0 ? b : a)));
      for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, i % 3 === 0 ? b : a);
      // The next turns go to the threads in turn, which learn the keys they were not sent yet.
      for (let round = 0; round < 3; round++) {
        const more = inputs(5);
        const got = await Promise.all(more.map((x) => pool.sign(x, b)));
        for (const [i, x] of more.entries()) expectSignedBy(got[i]!, x, b);
      }
      expect(pool.running()).toBe(n);
      expect(pool.stats()).toEqual({ started: n, failed: 0, batches: 4, signedHere: 0 });
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
    expect(pool.stats()).toEqual({ started: 0, failed: 0, batches: 0, signedHere: 10 });
  });

  it('a thread that answers in time is kept: no false "did not answer", and its start is given time', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, { onThreadError: (err) => errors.push(err), answerWithinMs: 250 });
    const k = key();
    const x = inputs(1)[0]!;
    expectSignedBy(await pool.sign(x, k), x, k); // the thread starts (startWithinMs more for this one)
    expectSignedBy(await pool.sign(x, k), x, k); // a started thread: answerWithinMs
    await sleep(600); // well past answerWithinMs for both
    expect(errors).toEqual([]);
    expect(pool.running()).toBe(1);
    expectSignedBy(await pool.sign(x, k), x, k);
    expect(pool.stats()).toEqual({ started: 1, failed: 0, batches: 3, signedHere: 0 });
  });

  it('a started thread that stops answering is given answerWithinMs, not the start allowance', async () => {
    const errors: unknown[] = [];
    const marker = "parentPort.on('message', (m) => {";
    expect(SIGNING_WORKER_SOURCE).toContain(marker);
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      answerWithinMs: 100,
      startWithinMs: 60_000,
      // The real worker, answering its first batch only.
      workerSource: `let batches = 0;\n${SIGNING_WORKER_SOURCE.replace(marker, `${marker} if (batches++ > 0) return;`)}`,
    });
    const k = key();
    const [x, y] = inputs(2);
    expectSignedBy(await pool.sign(x!, k), x!, k);
    const started = Date.now();
    expectSignedBy(await pool.sign(y!, k), y!, k);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(String(errors[0])).toContain('did not answer within 100 ms');
    expect(pool.stats()).toMatchObject({ batches: 2, failed: 1, signedHere: 1 });
  });

  it('a thread that dies with work in hand: every item is still signed right (here), the failure is told once, and by default the slot waits a minute', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, { onThreadError: (err) => errors.push(err), workerSource: EXITS });
    const k = key();
    const xs = inputs(20);
    const sigs = await Promise.all(xs.map((x) => pool.sign(x, k)));
    for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('exited with 7');
    expect(pool.running()).toBe(0);
    // Within the default minute: signed here, no new thread started, nothing more told.
    const again = inputs(3);
    const got = await Promise.all(again.map((x) => pool.sign(x, k)));
    for (const [i, x] of again.entries()) expectSignedBy(got[i]!, x, k);
    expect(pool.stats()).toEqual({ started: 1, failed: 1, batches: 1, signedHere: 23 });
    expect(errors).toHaveLength(1);
  });

  it('after restartAfterMs a failed slot gets a new thread', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      restartAfterMs: 0,
      workerSource: EXITS,
    });
    const k = key();
    for (let i = 0; i < 3; i++) {
      const x = inputs(1)[0]!;
      expectSignedBy(await pool.sign(x, k), x, k);
      await sleep(2); // restartAfterMs 0 means "once a millisecond has passed"
    }
    // Each batch met a new (failing) thread: three threads started, three failures told.
    expect(errors).toHaveLength(3);
    expect(pool.stats()).toMatchObject({ started: 3, failed: 3, batches: 3, signedHere: 3 });
  });

  it('the clock set back does not hold a failed slot on the event loop: the pause is measured, not read off the wall', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      restartAfterMs: 50,
      workerSource: EXITS,
    });
    const k = key();
    const x = inputs(1)[0]!;
    expectSignedBy(await pool.sign(x, k), x, k); // the thread dies: the slot pauses 50 ms
    const realNow = Date.now;
    const dayAgo = realNow() - 86_400_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => dayAgo); // the wall clock goes back a day
    try {
      await sleep(100);
      expectSignedBy(await pool.sign(x, k), x, k);
    } finally {
      clock.mockRestore();
    }
    // A new thread was tried after the 50 ms pause (and died too), not a day later.
    expect(pool.stats()).toMatchObject({ started: 2, failed: 2 });
  });

  it('a thread that throws: its error is what is told (once, not again for its exit), its work signed here', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      workerSource: `require('node:worker_threads').parentPort.on('message', () => { throw new Error('boom in thread'); });`,
    });
    const k = key();
    const xs = inputs(3);
    const sigs = await Promise.all(xs.map((x) => pool.sign(x, k)));
    for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    await sleep(200); // the exit that follows the error
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('boom in thread');
    expect(pool.stats()).toMatchObject({ started: 1, failed: 1, signedHere: 3 });
  });

  it('an item that cannot be signed fails alone; the rest of its batch is signed', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, { onThreadError: (err) => errors.push(err) });
    const k = key();
    // An X25519 key cannot sign: the real thread throws on it, and so does the event loop afterwards.
    const notSigning = { kid: 'x', privateKey: generateKeyPairSync('x25519').privateKey };
    const xs = inputs(3);
    const results = await Promise.allSettled([
      pool.sign(xs[0]!, k),
      pool.sign(xs[1]!, notSigning),
      pool.sign(xs[2]!, k),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expectSignedBy((results[0] as PromiseFulfilledResult<Uint8Array>).value, xs[0]!, k);
    expectSignedBy((results[2] as PromiseFulfilledResult<Uint8Array>).value, xs[2]!, k);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/not supported|key type/i);
    expect(errors).toHaveLength(1); // the thread died on it and was told
  });

  it('a thread that does not answer: the batch is signed here after answerWithinMs and the thread replaced', async () => {
    const errors: unknown[] = [];
    const pool = threads(1, {
      onThreadError: (err) => errors.push(err),
      answerWithinMs: 100,
      startWithinMs: 50,
      workerSource: `require('node:worker_threads').parentPort.on('message', () => {});`,
    });
    const k = key();
    const xs = inputs(4);
    const started = Date.now();
    const sigs = await Promise.all(xs.map((x) => pool.sign(x, k)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    expect(String(errors[0])).toContain('did not answer within 150 ms'); // a new thread: 100 + 50
    expect(pool.running()).toBe(0);
    expect(pool.stats()).toMatchObject({ failed: 1, signedHere: 4 });
  });

  it('close() signs what is queued or in flight, stops the threads without telling a failure, and later calls sign here', async () => {
    const errors: unknown[] = [];
    const pool = threads(2, {
      onThreadError: (err) => errors.push(err),
      // Answers nothing: what it holds when close() comes can only be signed by close().
      workerSource: `require('node:worker_threads').parentPort.on('message', () => {});`,
    });
    const k = key();
    const inFlight = inputs(3);
    const held = inFlight.map((x) => pool.sign(x, k));
    await turn(); // sent to the first thread
    const second = inputs(2);
    const heldToo = second.map((x) => pool.sign(x, k));
    await turn(); // sent to the second thread
    expect(pool.running()).toBe(2);
    const queued = inputs(4);
    const pending = queued.map((x) => pool.sign(x, k)); // not sent yet
    await pool.close();
    for (const [xs, ps] of [
      [inFlight, held],
      [second, heldToo],
      [queued, pending],
    ] as const) {
      const sigs = await Promise.all(ps);
      for (const [i, x] of xs.entries()) expectSignedBy(sigs[i]!, x, k);
    }
    expect(pool.running()).toBe(0);
    expect(errors).toEqual([]);
    const x = inputs(1)[0]!;
    expectSignedBy(await pool.sign(x, k), x, k);
    expect(pool.running()).toBe(0);
    expect(pool.stats()).toEqual({ started: 2, failed: 0, batches: 2, signedHere: 10 });
  });
});
