/**
 * Messages between the main thread and model worker threads (`workers/model-worker.ts`), and the
 * layout of the shared memory used for synchronous data-parallel training.
 */
import type { BackendName } from '../backend';
import type { StepContext } from '../../training/fit';
import type { ObjectiveSpec } from '../../models/objectives';
import type { ModelSpec } from '../../models/spec';
import type { TrainOptions } from '../../models/train';

export type Weights = Record<string, Float32Array>;

/** Int32 slots of the training control block (the barrier's arrivals and generation). */
export const CONTROL = Object.freeze({ COUNT: 0, GENERATION: 1, LENGTH: 2 });

export interface ImageMeta {
  count: number;
  height: number;
  width: number;
  channels: number;
  float: boolean;
}

export type ToWorker =
  | { type: 'init'; backend: BackendName; spec: ModelSpec; weights: Weights }
  | { type: 'encode'; pixels: Uint8Array | Float32Array; count: number; batchSize: number; embed: boolean }
  | {
      type: 'train-setup';
      pixels: SharedArrayBuffer;
      meta: ImageMeta;
      /** The objective to build (by name, see `lib/models/objectives.ts`) and the options it and Adam read. */
      objective: ObjectiveSpec;
      options: TrainOptions;
      /** Weights to write into the replica first (the clustering fine-tune's starting centres). */
      weights?: Weights;
      control: SharedArrayBuffer;
      /** One gradient region per worker, each the size of the objective's variables (room for all the model's). */
      grads: SharedArrayBuffer;
      /** Room for the soft assignments [count × k] of every image, filled by all workers together (clustering). */
      assignments?: SharedArrayBuffer;
      worker: number;
      workers: number;
    }
  /** One step: `ctx.indices` is the whole batch; each worker trains on its share. */
  | { type: 'train-step'; ctx: StepContext }
  | { type: 'eval'; indices: Int32Array }
  | { type: 'get-weights' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'encoded'; latents: Float32Array }
  /** A worker's share of the step's loss and parts (weighted by its share of the batch), and the objective's state. */
  | { type: 'step-done'; stopped: boolean; loss: number; parts: Record<string, number>; state?: object }
  | { type: 'eval-done'; sum: number; count: number }
  | { type: 'weights'; weights: Weights }
  | { type: 'error'; message: string; code?: string };

/** Barrier for `parties` threads on the control block (generation counting, Atomics.wait). */
export function barrier(control: Int32Array, parties: number): void {
  const generation = Atomics.load(control, CONTROL.GENERATION);
  if (Atomics.add(control, CONTROL.COUNT, 1) === parties - 1) {
    Atomics.store(control, CONTROL.COUNT, 0);
    Atomics.add(control, CONTROL.GENERATION, 1);
    Atomics.notify(control, CONTROL.GENERATION);
  } else {
    while (Atomics.load(control, CONTROL.GENERATION) === generation) Atomics.wait(control, CONTROL.GENERATION, generation);
  }
}
