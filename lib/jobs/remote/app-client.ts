/**
 * A remote worker's door into the app, over HTTP with the access token: who the app is (and its
 * active model), an original by content hash, a model's files, a run's index snapshot (streamed
 * to disk: it can be hundreds of MB). The app owns every file; a worker
 * only reads. Errors come back as AppErrors a worker can act on: 'unauthorized' (wrong token —
 * stop), 'not_found' (refuse that image), 'backend_unavailable' (app away — BullMQ retries later).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { AppError } from '../../errors';
import type { ModelFile } from '../../models/model-io';

export interface AppHello {
  app: 'latent-atlas';
  activeModel: { id: number; fingerprint: string } | null;
}

export class AppClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    /** Per request. Default 60 s. */
    private readonly timeoutMs = 60_000,
  ) {}

  /** Checks the address and the token (AppError('unauthorized') when the app refuses it). */
  async hello(): Promise<AppHello> {
    const response = await this.get('/api/remote/hello');
    return (await response.json()) as AppHello;
  }

  async original(hash: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.get(`/api/remote/originals/${hash}`)).arrayBuffer());
  }

  async modelFile(id: number, file: ModelFile): Promise<Uint8Array> {
    return new Uint8Array(await (await this.get(`/api/remote/models/${id}/${file}`)).arrayBuffer());
  }

  /** Streams file `name` of run `run`'s index snapshot to `dest`; returns its sha-256 (hex). */
  async snapshotFile(run: string, name: string, dest: string): Promise<string> {
    const response = await this.get(`/api/remote/snapshots/${run}/${encodeURIComponent(name)}`, 600_000);
    const digest = createHash('sha256');
    const out = await open(dest, 'w');
    const reader = response.body?.getReader();
    try {
      for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader!.read()) {
        digest.update(chunk.value);
        await out.write(chunk.value);
      }
    } finally {
      await out.close();
    }
    return digest.digest('hex');
  }

  private async get(path: string, timeoutMs = this.timeoutMs): Promise<Response> {
    const url = new URL(path, this.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new AppError('backend_unavailable', `cannot reach the app at ${this.baseUrl}: ${(error as Error).message}`, { cause: error });
    }
    if (response.ok) return response;
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    const message = body?.error?.message ?? response.statusText;
    if (response.status === 401)
      throw new AppError('unauthorized', `the app at ${this.baseUrl} refused this worker's token (LATENT_ATLAS_TOKEN): ${message}`);
    if (response.status === 404) throw new AppError('not_found', message);
    throw new AppError('backend_unavailable', `the app at ${this.baseUrl} answered ${response.status} to ${path}: ${message}`);
  }
}
