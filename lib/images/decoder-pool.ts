/**
 * Decoding in child processes, so that a decoder crash or runaway costs one file, not the process
 * that asked. A native crash inside libvips (a segfault, an abort) ends the whole process it runs
 * in — a worker thread is no shelter, since a signal like SIGSEGV takes down every thread of its
 * process — so untrusted bytes are decoded in a small pool of child processes, each started under
 * a memory limit (RLIMIT_DATA through util-linux's `prlimit` where it is installed, the JS heap
 * through `--max-old-space-size` always) and watched by a deadline. A child that dies is replaced;
 * the file it was decoding is refused with AppError('undecodable') (HTTP 422), and the other files
 * it held are tried again, each alone on a child, so only the file that kills a child alone is
 * blamed. The children send back what `prepareImage` makes — the model input, the thumbnail, the
 * original size and metadata — never the decoded image, so the traffic is the file in, a few KB out.
 *
 * The child's side is `decoder-process.ts` (entry: workers/decoder.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { AppError, type ErrorCode } from '../errors';
import { processCpuMs } from '../processes';
import type { PreparedImage, PrepareOptions } from './image-decoder';

/** A file to decode, parent → child. */
export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  options: PrepareOptions;
}

/** Child → parent: ready once, then one reply per request (the image, or the decoder's refusal). */
export type DecoderMessage =
  | { type: 'ready' }
  | { type: 'decoded'; id: number; image: PreparedImage }
  | { type: 'refused'; id: number; code: ErrorCode; message: string };

export interface DecoderPoolOptions {
  /** Child processes. Default 2: one per core of a small machine, each decoding on its own. */
  processes?: number;
  /** Files one child decodes at once (libvips works while the next file travels). Default 2. */
  perProcess?: number;
  /**
   * Memory limit of each child, MiB (its data segment and every allocation libvips makes).
   * Default 2048: room for the largest image the pixel limit admits (100 MP, 16-bit) decoded whole;
   * a file that needs more is refused, never the parent's memory at stake.
   */
  memoryMb?: number;
  /**
   * Milliseconds a file may take in a child before the child is killed and the file refused.
   * Default: the file's `limits.maxSeconds` (libvips' own timeout, which stops a decode that makes
   * progress slowly) plus 5 s, for decodes that stop making progress at all or loop outside libvips.
   */
  killAfterMs?: number;
  /** The child's entry script. Default workers/decoder.ts under the working directory (the app's root). */
  entry?: string;
}

interface Job {
  id: number;
  bytes: Uint8Array;
  options: PrepareOptions;
  resolve: (image: PreparedImage) => void;
  reject: (error: Error) => void;
  /** In flight on a child that died: tried again alone, and blamed if its child dies again. */
  suspect: boolean;
  timedOut: boolean;
  timer?: NodeJS.Timeout;
}

interface Child {
  process: ChildProcess;
  ready: boolean;
  jobs: Map<number, Job>;
  /** Running a suspect file alone. */
  exclusive: boolean;
}

/** Consecutive children that died before they were ready, after which queued files fail instead of waiting. */
const MAX_START_FAILURES = 3;
/** Grace after a file's own time limit before its child is killed. */
const KILL_GRACE_MS = 5000;

/** util-linux's prlimit, if this machine has it (looked up once). */
const PRLIMIT = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => isAbsolute(dir))
  .map((dir) => join(dir, 'prlimit'))
  .find((path) => existsSync(path));

export class DecoderPool {
  private readonly children: Child[] = [];
  private readonly queue: Job[] = [];
  private readonly processes: number;
  private readonly perProcess: number;
  private readonly memoryMb: number;
  private readonly entry: string;
  private nextId = 1;
  private closed = false;
  private startFailures = 0;
  /** Children started so far (the first ones included) and children that died (crashed or killed). */
  readonly counts = { started: 0, died: 0 };

  constructor(private readonly options: DecoderPoolOptions = {}) {
    this.processes = options.processes ?? 2;
    this.perProcess = options.perProcess ?? 2;
    this.memoryMb = options.memoryMb ?? 2048;
    this.entry = options.entry ?? resolve('workers', 'decoder.ts');
    if (!existsSync(this.entry)) throw new AppError('internal', `the decoder entry ${this.entry} is missing: run the app from its folder`);
    for (let i = 0; i < this.processes; i++) this.spawnChild();
  }

  /** Whether child memory is limited by the kernel (prlimit found) or only by the JS heap limit and the pixel limit. */
  static get kernelMemoryLimit(): boolean {
    return PRLIMIT !== undefined;
  }

  /** `prepareImage(bytes, options)` in a child; AppError('undecodable') when the decoder died or ran past its deadline on this file. */
  prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedImage> {
    if (this.closed) return Promise.reject(new AppError('internal', 'the decoder pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, bytes, options, resolve, reject, suspect: false, timedOut: false });
      this.dispatch();
    });
  }

  /** Process ids of the children (for tests and diagnostics). */
  pids(): number[] {
    return this.children.flatMap((c) => (c.process.pid ? [c.process.pid] : []));
  }

  /** Process ids of the children decoding something now. */
  busyPids(): number[] {
    return this.children.flatMap((c) => (c.jobs.size && c.process.pid ? [c.process.pid] : []));
  }

  /** CPU time (user + system, ms) the live children have used, from /proc (0 where there is none). */
  cpuMs(): number {
    return this.pids().reduce((sum, pid) => sum + processCpuMs(pid), 0);
  }

  /**
   * Resolves when every child is ready to decode (the pool starts them at once; this waits for it);
   * AppError('internal') when they cannot start (three in a row died before they were ready).
   */
  async ready(): Promise<void> {
    while (!this.closed && !(this.children.length === this.processes && this.children.every((c) => c.ready))) {
      if (this.startFailures >= MAX_START_FAILURES) throw new AppError('internal', 'the image decoder processes cannot start');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the children; files still queued or in flight are refused with AppError('cancelled'). */
  async close(): Promise<void> {
    this.closed = true;
    const cancelled = () => new AppError('cancelled', 'the decoder pool was closed');
    for (const job of this.queue.splice(0)) job.reject(cancelled());
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            for (const job of child.jobs.values()) {
              clearTimeout(job.timer);
              job.reject(cancelled());
            }
            child.jobs.clear();
            if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
            child.process.once('exit', () => resolve());
            child.process.ref(); // its exit is awaited: it must keep this process alive until then
            child.process.kill('SIGKILL');
          }),
      ),
    );
  }

  private spawnChild(): void {
    const node = [process.execPath, '--import', 'tsx', `--max-old-space-size=${this.memoryMb}`, this.entry];
    const [command, ...args] = PRLIMIT ? [PRLIMIT, `--data=${this.memoryMb * 1024 * 1024}`, '--', ...node] : node;
    const proc = spawn(command!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const child: Child = { process: proc, ready: false, jobs: new Map(), exclusive: false };
    this.children.push(child);
    this.counts.started++;
    proc.unref(); // never what keeps this process alive: the channel is held only while files are in flight
    this.holdChannel(child);
    proc.on('message', (message: DecoderMessage) => this.onMessage(child, message));
    proc.once('error', (error) => {
      // Could not be started at all (no such file): counted as an exit.
      if (proc.exitCode === null && proc.signalCode === null) this.onExit(child, null, null, error);
    });
    proc.once('exit', (code, signal) => this.onExit(child, code, signal));
  }

  /** Holds the child's channel open (keeping this process alive) while files wait or are in flight. */
  private holdChannel(child: Child): void {
    const busy = child.jobs.size > 0 || this.queue.length > 0 || !child.ready;
    if (busy) child.process.channel?.ref();
    else child.process.channel?.unref();
  }

  private onMessage(child: Child, message: DecoderMessage): void {
    if (message.type === 'ready') {
      child.ready = true;
      this.startFailures = 0;
    } else {
      const job = child.jobs.get(message.id);
      if (job) {
        child.jobs.delete(message.id);
        child.exclusive = false;
        clearTimeout(job.timer);
        if (message.type === 'decoded') job.resolve(fromChild(message.image));
        else job.reject(new AppError(message.code, message.message));
      }
    }
    this.dispatch();
  }

  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    const at = this.children.indexOf(child);
    if (at < 0) return; // already handled ('error' then 'exit')
    this.children.splice(at, 1);
    if (this.closed) return;
    this.counts.died++;
    const jobs = [...child.jobs.values()];
    child.jobs.clear();
    const how = signal ? `crashed (${signal})` : error ? `could not start (${error.message})` : `exited (code ${code})`;
    for (const job of jobs) {
      clearTimeout(job.timer);
      if (job.timedOut) {
        job.reject(new AppError('undecodable', `decoding this file took longer than ${deadlineMs(this.options, job) / 1000} s; refused`));
      } else if (job.suspect || jobs.length === 1) {
        job.reject(new AppError('undecodable', `the image decoder ${how} on this file; refused (nothing was stored)`));
      } else {
        job.suspect = true; // maybe innocent: another file may have killed the child; tried again alone
        this.queue.unshift(job);
      }
    }
    if (!child.ready) {
      this.startFailures++;
      if (this.startFailures >= MAX_START_FAILURES) {
        for (const job of this.queue.splice(0))
          job.reject(new AppError('internal', `the image decoder processes cannot start: the last one ${how}`));
      }
    }
    // Started again at once; after failed starts, with a growing pause (no spinning on a broken install).
    setTimeout(
      () => {
        if (this.closed) return;
        this.spawnChild();
        this.dispatch();
      },
      Math.min(5000, 200 * this.startFailures),
    ).unref();
  }

  /** Hands queued files to ready children: a suspect file only to an idle child, which it then has alone. */
  private dispatch(): void {
    for (let i = 0; i < this.queue.length;) {
      const job = this.queue[i]!;
      const ready = this.children.filter((c) => c.ready && !c.exclusive && c.process.connected);
      const child = job.suspect
        ? ready.find((c) => c.jobs.size === 0)
        : ready.filter((c) => c.jobs.size < this.perProcess).sort((a, b) => a.jobs.size - b.jobs.size)[0];
      if (!child) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.send(child, job);
    }
    for (const child of this.children) this.holdChannel(child);
  }

  private send(child: Child, job: Job): void {
    child.jobs.set(job.id, job);
    if (job.suspect) child.exclusive = true;
    job.timer = setTimeout(
      () => {
        job.timedOut = true;
        child.process.kill('SIGKILL');
      },
      deadlineMs(this.options, job),
    );
    const request: DecodeRequest = { id: job.id, bytes: job.bytes, options: job.options };
    child.process.send(request, (error) => {
      // The child went away before it read the file: its exit handler re-queues or refuses it.
      if (error && child.process.connected) child.process.kill('SIGKILL');
    });
  }
}

function deadlineMs(options: DecoderPoolOptions, job: Pick<Job, 'options'>): number {
  return options.killAfterMs ?? (job.options.limits?.maxSeconds ?? 30) * 1000 + KILL_GRACE_MS;
}

/** The image as it arrives over the channel (Buffers come as plain Uint8Arrays). */
function fromChild(image: PreparedImage): PreparedImage {
  const thumbnail = image.thumbnail ? Buffer.from(image.thumbnail.buffer, image.thumbnail.byteOffset, image.thumbnail.byteLength) : null;
  return { ...image, thumbnail };
}
