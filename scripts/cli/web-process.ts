/**
 * The built web server (scripts/web-server.ts) as a child process of a benchmark, unsupervised: it
 * is started on a data folder and port, its peak resident memory (VmHWM) is sampled (and its
 * decoder processes': every child it has, counted as they come and go), and when it dies
 * `recover()` counts the death and starts it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WEB_SERVER = fileURLToPath(new URL('../web-server.ts', import.meta.url));

/** Peak resident memory of a process so far, in MiB (0 once it is gone). */
export const peakMb = (pid: number) => {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0; // gone
  }
};

/** Process ids of `pid`'s children now, from /proc (empty once it is gone). */
const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

export class WebProcess {
  child: ChildProcess | null = null;
  deaths = 0;
  peakMb = 0;
  /** Peak resident memory of any one of the server's decoder processes, MiB. */
  decoderPeakMb = 0;
  /** Every decoder process seen (the pool replaces one that dies: more than it keeps means restarts). */
  readonly decoderPids = new Set<number>();
  private sampler: NodeJS.Timeout | null = null;
  private starting: Promise<void> | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly port: number,
    private readonly env: Record<string, string> = {},
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server (once, however many callers ask at the same time) and waits until it answers. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', WEB_SERVER], {
        env: {
          ...process.env,
          LATENT_ATLAS_DATA_DIR: this.dataDir,
          LATENT_ATLAS_HOST: '127.0.0.1',
          LATENT_ATLAS_PORT: String(this.port),
          LATENT_ATLAS_WORKERS: '1',
          NEXT_TELEMETRY_DISABLED: '1',
          ...this.env,
        },
        stdio: 'ignore',
      });
      this.child = child;
      if (this.sampler) clearInterval(this.sampler);
      this.sampler = setInterval(() => {
        this.peakMb = Math.max(this.peakMb, peakMb(child.pid!));
        for (const decoder of childrenOf(child.pid!)) {
          this.decoderPids.add(decoder);
          this.decoderPeakMb = Math.max(this.decoderPeakMb, peakMb(decoder));
        }
      }, 250);
      for (let i = 0; ; i++) {
        if (!this.alive()) throw new Error('the server exited while starting');
        if (
          await fetch(`${this.base}/api/health`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        if (i > 600) throw new Error('the server did not start within 120 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    })().finally(() => (this.starting = null));
    return this.starting;
  }

  /** After a failed request: if the server died, counts the death and starts it again. Returns whether it had died. */
  async recover(): Promise<boolean> {
    if (this.starting) {
      await this.starting;
      return false;
    }
    if (this.alive()) return false;
    this.peakMb = Math.max(this.peakMb, peakMb(this.child!.pid!));
    this.deaths++;
    await this.start();
    return true;
  }

  stop(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.child?.kill('SIGKILL');
  }
}
