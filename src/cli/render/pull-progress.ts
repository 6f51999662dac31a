/**
 * Pull progress. On a terminal: one line per layer, redrawn in place at most ten times a
 * second (bytes, speed, state). Elsewhere: a single line per image when it is done.
 */
import type { PullEvent } from '../../engine/index.ts';

interface LayerLine {
  digest: string;
  state: string;
  received: number;
  total: number;
  startedAt: number;
}

export class PullProgress {
  #out: NodeJS.WriteStream;
  #tty: boolean;
  #layers = new Map<string, LayerLine>();
  #drawn = 0;
  #lastDraw = 0;
  #reference = '';

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = Boolean(out.isTTY);
  }

  onEvent = (event: PullEvent): void => {
    if (event.kind === 'resolved') {
      this.#reference = event.reference;
      if (this.#tty) this.#out.write(`Pulling ${event.reference} (${event.digest.slice(0, 19)}, ${event.layers} layers)\n`);
      return;
    }
    if (event.kind === 'note') {
      // said even when not a terminal: something in the image is not as its author made it
      this.#out.write(`note: ${event.message}\n`);
      this.#drawn = 0;
      return;
    }
    if (event.kind === 'done') {
      if (this.#tty) this.#draw(true);
      return;
    }
    const line = this.#layers.get(event.digest) ?? { digest: event.digest, state: '', received: 0, total: event.total, startedAt: Date.now() };
    line.state = event.state;
    line.total = event.total;
    if (event.received !== undefined) line.received = event.received;
    this.#layers.set(event.digest, line);
    if (this.#tty) this.#draw(event.state !== 'downloading');
  };

  /** The one line for a non-terminal. */
  summary(downloaded: number, layers: number, id: string, upToDate: boolean): string {
    const what = upToDate ? 'image is up to date' : `${downloaded} of ${layers} layers downloaded`;
    return `${this.#reference}: ${what}, id ${id.slice(7, 19)}\n`;
  }

  #draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    let text = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    for (const l of this.#layers.values()) {
      const seconds = Math.max((now - l.startedAt) / 1000, 0.001);
      const detail =
        l.state === 'downloading'
          ? `${mb(l.received)}/${mb(l.total)} ${mb(l.received / seconds)}/s`
          : l.state === 'present' ? 'already present' : l.state;
      text += `\x1b[2K${l.digest.slice(7, 19)}: ${detail}\n`;
    }
    this.#drawn = this.#layers.size;
    this.#out.write(text);
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)}MB`;
}
