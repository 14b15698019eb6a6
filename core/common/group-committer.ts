/**
 * Group commit: callers submit one item each and get a promise; items that arrive while a flush
 * is in flight are written together by the next flush. Under load this turns N single-row
 * transactions into a few multi-row ones (fsync is the bottleneck otherwise); at low load a lone
 * item is flushed on the next tick, so batching adds no latency.
 */
export interface GroupCommitterOptions<I, R> {
  /** Writes a batch; returns one result per item, in order. Throwing fails the whole batch. */
  flush: (items: I[]) => Promise<R[]>;
  maxItems: number;
  /** Flushes that may run at the same time (1 keeps writes ordered). */
  maxConcurrentFlushes?: number;
  /**
   * When a multi-item batch fails with an error for which this returns true, the items are
   * retried one by one so that a single bad item does not fail its neighbours.
   */
  isolateOnError?: (error: unknown) => boolean;
}

interface Pending<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter<I, R> {
  private queue: Array<Pending<I, R>> = [];
  private running = 0;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly maxConcurrent: number;

  constructor(private readonly options: GroupCommitterOptions<I, R>) {
    this.maxConcurrent = options.maxConcurrentFlushes ?? 1;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once everything submitted so far has been flushed. */
  async drain(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.maxConcurrent) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startFlushes();
    });
  }

  private startFlushes(): void {
    while (this.running < this.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxItems);
      this.running++;
      void this.runBatch(batch).finally(() => {
        this.running--;
        if (this.queue.length > 0) this.schedule();
        else if (this.running === 0) this.notifyIdle();
      });
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private async runBatch(batch: Array<Pending<I, R>>): Promise<void> {
    try {
      const results = await this.options.flush(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (error) {
      if (batch.length > 1 && this.options.isolateOnError?.(error)) {
        for (const pending of batch) {
          try {
            const [result] = await this.options.flush([pending.item]);
            pending.resolve(result as R);
          } catch (single) {
            pending.reject(single);
          }
        }
      } else {
        for (const pending of batch) pending.reject(error);
      }
    }
  }
}
