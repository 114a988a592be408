/**
 * The progress bar on stderr: redrawn in place on a terminal, a plain line
 * every few seconds otherwise (CI logs, a test's captured stderr).
 */
import type { ShardProgress } from "./shard";

const TTY_REDRAW_MS = 200;
const LOG_LINE_MS = 5_000;
const BAR_WIDTH = 28;

export class ProgressBar {
  #timer: NodeJS.Timeout | null = null;
  #phase = "";
  #total = 0;
  #phaseStart = 0;
  #lastLine = 0;
  readonly #tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly read: () => ShardProgress,
    private readonly enabled: boolean,
  ) {}

  /** Starts showing a phase; `total` 0 means a countdown of `seconds` instead of a count. */
  phase(name: string, total: number, seconds = 0): void {
    if (!this.enabled) return;
    this.#clear();
    this.#phase = name;
    this.#total = total > 0 ? total : seconds;
    this.#phaseStart = performance.now();
    this.#lastLine = 0;
    const countdown = total <= 0;
    this.#timer = setInterval(() => this.#draw(countdown), this.#tty ? TTY_REDRAW_MS : 1_000);
    this.#timer.unref();
    this.#draw(countdown);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#clear();
  }

  #draw(countdown: boolean): void {
    const now = performance.now();
    const elapsedS = (now - this.#phaseStart) / 1000;
    const p = this.read();
    const done = countdown ? Math.min(elapsedS, this.#total) : p.done;
    const fraction = this.#total > 0 ? Math.min(1, done / this.#total) : 1;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}`;
    const count = countdown
      ? `${elapsedS.toFixed(0)}/${this.#total.toFixed(0)} s`
      : `${p.done}/${this.#total}`;
    const line = `${this.#phase.padEnd(9)} [${bar}] ${count}  open ${p.open}  errors ${p.errors}  ${elapsedS.toFixed(1)} s`;
    if (this.#tty) {
      process.stderr.write(`\r${line}\x1b[K`);
    } else if (now - this.#lastLine >= LOG_LINE_MS || this.#lastLine === 0) {
      this.#lastLine = now;
      process.stderr.write(`${line}\n`);
    }
  }

  #clear(): void {
    if (this.#tty && this.enabled) process.stderr.write("\r\x1b[K");
  }
}
