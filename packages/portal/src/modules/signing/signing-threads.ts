import { type KeyObject, sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { SigningKey } from '@wispanel/contract';

/**
 * The worker: keeps the private keys it was sent (by a small number, per key object of the main thread) and
 * answers each batch of inputs with their signatures, 64 bytes each, in order, in one transferred buffer.
 * Plain JavaScript run with `eval` so it needs no build step and no file next to a bundle.
 */
export const SIGNING_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, sign } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (m) => {
  for (const k of m.keys) keys.set(k.id, createPrivateKey({ key: Buffer.from(k.der), format: 'der', type: 'pkcs8' }));
  const out = new Uint8Array(64 * m.inputs.length);
  for (let i = 0; i < m.inputs.length; i++) out.set(sign(null, m.inputs[i], keys.get(m.key[i])), 64 * i);
  parentPort.postMessage({ id: m.id, out }, [out.buffer]);
});
`;

export interface SigningThreadsOptions {
  /** Told when a thread fails (exits, throws, does not answer in time); its work is signed here. */
  onThreadError?: (err: unknown) => void;
  /** A slot whose thread failed signs here this long before a new thread is tried (default 1 min). */
  restartAfterMs?: number;
  /** A batch not answered within this is signed here and the thread replaced (default 2 s). */
  answerWithinMs?: number;
  /** More time for the batches sent before a new thread's first answer: it is still starting (default 5 s). */
  startWithinMs?: number;
  /** The worker's code (tests put a failing one here). */
  workerSource?: string;
}

interface Waiting {
  input: Buffer;
  key: KeyObject;
  resolve: (sig: Uint8Array) => void;
  reject: (err: unknown) => void;
}

interface Thread {
  worker: Worker;
  /** Key ids this worker already holds. */
  known: Set<number>;
  /** Batches sent and not answered yet, by batch id. */
  inflight: Map<number, Waiting[]>;
  /** It has answered once (so it has started). */
  answered: boolean;
}

/**
 * Ed25519 signing on worker threads, for the license check's answers (the portal's hot path, where the
 * signature is the largest single cost and cannot be made ahead: it covers the panel's nonce and the time).
 *
 * Every item asked for in one turn of the event loop goes to a thread as one message; the thread answers with
 * all the signatures at once. The signatures are the ones `crypto.sign` makes on the main thread (Ed25519 is
 * deterministic), so nothing downstream can tell the difference. Meanwhile the event loop serves other requests
 * and the check's group-committed write runs.
 *
 * If a thread fails (it exits or throws), the batches it held are signed on the main thread — no request fails
 * because of a thread — and a new thread is started for the next batch, at most once a minute per slot; in
 * between, that slot signs on the main thread. `threads: 0` signs everything on the main thread.
 */
export class SigningThreads {
  private readonly slots: Array<Thread | undefined>;
  private readonly counts = { started: 0, failed: 0, batches: 0, signedHere: 0 };
  private readonly failedAt: number[];
  /** Each private key passed so far: the small id threads know it by, and its PKCS#8 DER to send them. */
  private readonly keys = new WeakMap<KeyObject, { id: number; der: Uint8Array }>();
  private nextKey = 1;
  private nextBatch = 1;
  private turn = 0;
  private queue: Waiting[] = [];
  private scheduled = false;
  private closed = false;

  private readonly onThreadError: (err: unknown) => void;
  private readonly restartAfterMs: number;
  private readonly answerWithinMs: number;
  private readonly startWithinMs: number;
  private readonly workerSource: string;

  constructor(threads: number, options: SigningThreadsOptions = {}) {
    this.onThreadError = options.onThreadError ?? (() => {});
    this.restartAfterMs = options.restartAfterMs ?? 60_000;
    this.answerWithinMs = options.answerWithinMs ?? 2_000;
    this.startWithinMs = options.startWithinMs ?? 5_000;
    this.workerSource = options.workerSource ?? SIGNING_WORKER_SOURCE;
    this.slots = Array.from({ length: Math.max(0, threads) }, () => undefined);
    this.failedAt = this.slots.map(() => Number.NEGATIVE_INFINITY);
  }

  /** The 64-byte Ed25519 signature of `input` with `key`. */
  readonly sign = (input: Buffer, key: SigningKey): Promise<Uint8Array> => {
    if (this.slots.length === 0 || this.closed) {
      this.counts.signedHere++;
      return Promise.resolve(sign(null, input, key.privateKey));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ input, key: key.privateKey, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  };

  /** Threads running now (for tests and health). */
  running(): number {
    return this.slots.filter(Boolean).length;
  }

  /** Counts since start: threads started and failed, batches sent to threads, signatures made on the event loop. */
  stats(): { started: number; failed: number; batches: number; signedHere: number } {
    return { ...this.counts };
  }

  /** Stops the threads; what they hold is signed on the main thread. Later calls sign on the main thread. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await Promise.all(this.slots.map((t, i) => (t ? this.retire(i, t, null) : undefined)));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const slot = this.turn++ % this.slots.length;
    const thread = this.closed ? undefined : this.thread(slot);
    if (!thread) {
      this.signHere(batch);
      return;
    }
    const id = this.nextBatch++;
    const keys: Array<{ id: number; der: Uint8Array }> = [];
    const key = batch.map((w) => {
      let k = this.keys.get(w.key);
      if (k === undefined) {
        k = { id: this.nextKey++, der: new Uint8Array(w.key.export({ format: 'der', type: 'pkcs8' })) };
        this.keys.set(w.key, k);
      }
      if (!thread.known.has(k.id)) {
        thread.known.add(k.id);
        keys.push(k);
      }
      return k.id;
    });
    thread.inflight.set(id, batch);
    this.counts.batches++;
    thread.worker.postMessage({ id, keys, key, inputs: batch.map((w) => w.input) });
    // A thread that does not answer (stuck, starved) must not hold requests: sign here, replace the thread.
    const within = thread.answered ? this.answerWithinMs : this.answerWithinMs + this.startWithinMs;
    setTimeout(() => {
      if (thread.inflight.has(id))
        void this.retire(slot, thread, new Error(`signing thread did not answer within ${within} ms`));
    }, within).unref();
  };

  private thread(slot: number): Thread | undefined {
    const existing = this.slots[slot];
    if (existing) return existing;
    if (performance.now() - this.failedAt[slot]! < this.restartAfterMs) return undefined;
    let worker: Worker;
    try {
      worker = new Worker(this.workerSource, { eval: true });
    } catch (cannotStart) {
      // new Worker() itself failed (out of threads or memory): this slot signs here for now.
      this.fail(slot, cannotStart);
      return undefined;
    }
    worker.unref(); // never keeps the process alive
    this.counts.started++;
    const thread: Thread = { worker, known: new Set(), inflight: new Map(), answered: false };
    this.slots[slot] = thread;
    worker.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
      thread.answered = true;
      const batch = thread.inflight.get(id);
      if (!batch) return;
      thread.inflight.delete(id);
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(out.subarray(64 * i, 64 * i + 64));
    });
    worker.on('error', (err) => void this.retire(slot, thread, err));
    worker.on(
      'exit',
      (code) => void this.retire(slot, thread, new Error(`signing thread exited with ${code}`)),
    );
    return thread;
  }

  /** A slot's thread failed (or could not start): count it, tell it, and let the slot wait restartAfterMs. */
  private fail(slot: number, err: unknown): void {
    this.failedAt[slot] = performance.now(); // monotonic: the wall clock set back must not stretch the pause
    this.counts.failed++;
    this.onThreadError(err);
  }

  private signHere(batch: Waiting[]): void {
    this.counts.signedHere += batch.length;
    for (const w of batch) {
      try {
        w.resolve(sign(null, w.input, w.key));
      } catch (err) {
        w.reject(err);
      }
    }
  }

  /** Takes a thread out of its slot and signs what it held here. `err` null: a planned stop. */
  private async retire(slot: number, thread: Thread, err: unknown): Promise<void> {
    if (this.slots[slot] === thread) {
      this.slots[slot] = undefined;
      if (err !== null) this.fail(slot, err);
    }
    const held = [...thread.inflight.values()].flat();
    thread.inflight.clear();
    this.signHere(held);
    await thread.worker.terminate();
  }
}
