/**
 * The training objectives of the autoencoder family by name, so a worker replica can build the
 * same objective as this thread from serialisable data (a closure cannot cross threads): the
 * model (built from its spec), the images, the train options and an `ObjectiveSpec`. To add an
 * objective that also runs data-parallel, add its spec to `ObjectiveSpec` and its factory here
 * (see `lib/training/fit.ts` for what an objective is).
 */
import { AppError } from '../errors';
import type { Objective } from '../training/fit';
import type { Autoencoder } from './autoencoder';
import { clusterFinetuneObjective, type ClusterStart } from './cluster-finetune';
import type { ImageSet } from '../data/image-set';
import { reconstructionObjective, type TrainOptions } from './train';

/** Which objective a run trains, with the data it needs beyond the model, images and options. */
export type ObjectiveSpec =
  /** Reconstruction (denoising, sparse, KL as the spec says): `trainAutoencoder`. */
  | { kind: 'reconstruction' }
  /** The clustering fine-tune from a starting partition: `finetuneClusters`. */
  | { kind: 'cluster'; start: ClusterStart };

/** What a factory builds from: the replica's model, the run's images and options. */
export interface ObjectiveContext {
  model: Autoencoder;
  set: ImageSet;
  options: TrainOptions;
  /**
   * Soft assignments [count × k] of every image to the model's centres, for objectives that
   * need the whole set's (the clustering fine-tune); the pool computes them across its replicas.
   */
  assignAll: () => Float32Array;
}

type Factories = { [K in ObjectiveSpec['kind']]: (context: ObjectiveContext, spec: Extract<ObjectiveSpec, { kind: K }>) => Objective };

const OBJECTIVES: Readonly<Factories> = Object.freeze({
  reconstruction: ({ model, set }) => reconstructionObjective(model, set),
  cluster: ({ model, set, options, assignAll }, spec) => clusterFinetuneObjective(model, set, options, spec.start, assignAll),
});

/** Builds the objective `spec` names; an unknown kind throws and lists the known ones. */
export function createObjective(spec: ObjectiveSpec, context: ObjectiveContext): Objective {
  const factory = OBJECTIVES[spec.kind] as ((context: ObjectiveContext, spec: ObjectiveSpec) => Objective) | undefined;
  if (!factory)
    throw new AppError('invalid_input', `unknown objective '${String(spec.kind)}'; known: ${Object.keys(OBJECTIVES).join(', ')}`);
  return factory(context, spec);
}
