/**
 * Group execution: `run(item)` queues an item and resolves with its own result once the batch holding it has
 * been executed. A batch starts after the current I/O phase (every request parsed in this turn of the event loop
 * joins it); while one batch is executing, new items collect for the next, so under load the batches grow and
 * the per-item cost (round trips, commits) shrinks, and an idle service still answers at once.
 *
 * When a batch of several items fails, each item is retried alone, so one bad item fails only its own caller.
 */
export class Batcher<I, O> {
  private pending: Array<{ item: I; resolve: (o: O) => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  private running = false;

  /** `execute` gets the items in arrival order and returns one result per item, in the same order. */
  constructor(private readonly execute: (items: I[]) => Promise<O[]> | O[]) {}

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.running = true;
    try {
      const results = await this.execute(batch.map((w) => w.item));
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i] as O);
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      else
        for (const w of batch) {
          try {
            w.resolve(((await this.execute([w.item])) as O[])[0] as O);
          } catch (one) {
            w.reject(one);
          }
        }
    } finally {
      this.running = false;
      if (this.pending.length > 0) this.schedule();
    }
  }
}
