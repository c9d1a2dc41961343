/**
 * Group commit: concurrent writes are gathered and written by one statement (one transaction, one
 * WAL flush) instead of one each. A write joins the next batch while earlier ones are in flight;
 * each caller is answered with its own row's outcome only once its batch has committed.
 *
 * One batch is in flight at a time while few writes wait: the writes that arrive meanwhile make the
 * next one, so the batch grows with the load and a statement's fixed cost is shared by more rows
 * (batches started as soon as there is a row to write stay small and cost Postgres more per row).
 * Another batch starts beside the one in flight, up to `concurrency`, once `fullBatch` writes wait
 * (the database then works on one while the service prepares the next), or once the one in flight
 * has run longer than `stallMs` (waiting on a row lock another writer holds, say).
 *
 * Two writes of one item never share a batch (a statement updates a row once, whichever of two
 * inputs it picked): the later one waits for the next batch. If a batch's statement fails, its
 * writes are tried one by one, so one bad write fails alone.
 */
export interface GroupCommitOptions<R> {
  /** Writes the rows in one statement; returns the keys of the rows that were written. */
  writeBatch(rows: R[]): Promise<Set<string>>;
  /** The item a row writes (no two rows of one item share a batch). */
  keyOf(row: R): string;
  /** Batches in flight at once at most (each on its own connection), counting stalled ones. */
  concurrency: number;
  /** How long a batch runs before another may start beside it (ms). */
  stallMs: number;
  /** How many waiting writes make a batch worth starting beside one in flight. */
  fullBatch: number;
  /** Rows in one batch at most. */
  maxBatch: number;
  /** A batch error that is every row's answer as it is (trying rows alone would hide it). */
  final?(error: unknown): boolean;
}

interface Pending<R> {
  row: R;
  resolve(written: boolean): void;
  reject(error: unknown): void;
}

export class GroupCommit<R> {
  private queue: Pending<R>[] = [];
  private inFlight = 0;
  /** Batches in flight that have not yet run for `stallMs`. */
  private fresh = 0;

  constructor(private readonly options: GroupCommitOptions<R>) {}

  /** Resolves with whether the row was written, after its batch committed. */
  write(row: R): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0 && (this.fresh === 0 || this.queue.length >= this.options.fullBatch)) {
      const batch = this.take();
      this.inFlight++;
      this.fresh++;
      let stalled = false;
      const timer = setTimeout(() => {
        stalled = true;
        this.fresh--;
        this.pump();
      }, this.options.stallMs);
      void this.run(batch).finally(() => {
        clearTimeout(timer);
        this.inFlight--;
        if (!stalled) this.fresh--;
        this.pump();
      });
    }
  }

  /** The oldest rows, at most one per item, up to the batch size; the rest stay queued in order. */
  private take(): Pending<R>[] {
    const batch: Pending<R>[] = [];
    const rest: Pending<R>[] = [];
    const items = new Set<string>();
    for (const p of this.queue) {
      const key = this.options.keyOf(p.row);
      if (batch.length < this.options.maxBatch && !items.has(key)) {
        items.add(key);
        batch.push(p);
      } else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async run(batch: Pending<R>[]): Promise<void> {
    try {
      const written = await this.options.writeBatch(batch.map((p) => p.row));
      for (const p of batch) p.resolve(written.has(this.options.keyOf(p.row)));
    } catch (error) {
      if (batch.length === 1 || this.options.final?.(error)) {
        for (const p of batch) p.reject(error);
        return;
      }
      // One row may be what failed the statement: each alone, so only that one fails.
      await Promise.all(
        batch.map(async (p) => {
          try {
            p.resolve((await this.options.writeBatch([p.row])).has(this.options.keyOf(p.row)));
          } catch (e) {
            p.reject(e);
          }
        }),
      );
    }
  }
}
