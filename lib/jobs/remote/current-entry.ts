/**
 * One loaded thing kept at a time, by key — what a remote worker holds of a model or an index
 * snapshot. Asking again for the current key returns the same load (in flight or done); asking
 * for another key starts its load and lets the previous one go (`release`, once it has loaded). A
 * load that fails is forgotten, so the next batch tries again.
 */
export class CurrentEntry<T> {
  private current: { key: string; value: Promise<T> } | null = null;

  constructor(private readonly release: (value: T) => void = () => undefined) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    if (this.current?.key === key) return this.current.value;
    const previous = this.current;
    const value = load();
    this.current = { key, value };
    value.catch(() => {
      if (this.current?.key === key) this.current = null;
    });
    void previous?.value.then(this.release).catch(() => undefined);
    return value;
  }
}
