/**
 * Work the extractor has started but not waited for: extended attributes being set by the
 * helper (one request/response round trip each, pipelined) and the metadata steps that
 * must follow them. `drain` waits for all of it and throws the first failure.
 *
 * Contract with the extractor: while anything is in flight, nothing in the target is
 * removed or replaced (LayerTree calls `drain` first), so a path sent to the helper still
 * names the entry it was sent for, through the same directories, when the helper acts.
 */
export class InFlight {
  readonly #work = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  get size(): number {
    return this.#work.size;
  }

  add(work: Promise<void>): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => this.#work.delete(tracked));
    this.#work.add(tracked);
  }

  async drain(): Promise<void> {
    while (this.#work.size > 0) await Promise.all(this.#work);
    if (this.#failure) throw this.#failure.error;
  }
}
