/**
 * What every trainable model shares, so the autoencoder family and the segmenter do not mirror
 * each other: named tf.Variables in a fixed order (the order of the weights file), made from a
 * list of parameter definitions either with seeded initial values or from saved weights (sizes
 * checked), and copied out, overwritten and disposed the same way. `model-io.ts` saves and reads
 * any of them; each family adds only its own forward pass and initialisation.
 */
import { tf, type Tensor } from '../engine/tf';

export interface ParamDef {
  name: string;
  shape: number[];
  /** Fan-in for the family's initialisation (each family says how it reads 0 or −1). */
  fanIn: number;
  /** False for state the optimizer must not update (batch-norm moving statistics). Default true. */
  trainable?: boolean;
}

/** A variable name unique in the backend (two models of the same spec may live side by side). */
function variableName(def: ParamDef): string {
  return `${def.name}#${Math.random().toString(36).slice(2)}`;
}

/** Variables for `defs`, each from `init(def, position)` (the tensor is disposed once copied). */
export function initialParams(defs: readonly ParamDef[], init: (def: ParamDef, position: number) => Tensor): Map<string, tf.Variable> {
  const params = new Map<string, tf.Variable>();
  defs.forEach((def, i) => {
    const value = init(def, i);
    params.set(def.name, tf.variable(value, def.trainable ?? true, variableName(def)));
    value.dispose();
  });
  return params;
}

/** Variables for `defs` from saved weights; a missing weight or one of another size throws (and frees what was made). */
export function paramsFromWeights(defs: readonly ParamDef[], weights: ReadonlyMap<string, Float32Array>): Map<string, tf.Variable> {
  const params = new Map<string, tf.Variable>();
  for (const def of defs) {
    const values = weights.get(def.name);
    const size = def.shape.reduce((a, b) => a * b, 1);
    if (!values || values.length !== size) {
      for (const p of params.values()) p.dispose();
      throw new Error(`weight ${def.name}: expected ${size} values of shape [${def.shape}], got ${values?.length ?? 'none'}`);
    }
    params.set(def.name, tf.variable(tf.tensor(values, def.shape), def.trainable ?? true, variableName(def)));
  }
  return params;
}

/** A model as named variables and the spec it was built from; lifecycle: create/load → use → `dispose()`. */
export abstract class TrainableModel<Spec> {
  readonly spec: Spec;
  /** Parameters in a fixed order (the order of the weights file). */
  readonly params: ReadonlyMap<string, tf.Variable>;

  protected constructor(spec: Spec, params: Map<string, tf.Variable>) {
    this.spec = spec;
    this.params = params;
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`model has no parameter ${name}`);
    return v;
  }

  /** Number of values in all parameters. */
  get parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Current weights by name, copied out of the backend. */
  readWeights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.params) out.set(name, v.dataSync() as Float32Array);
    return out;
  }

  /** Overwrites weights by name (shapes must match). Used by tests and by data-parallel training. */
  writeWeights(weights: Map<string, Float32Array | number[]>): void {
    for (const [name, values] of weights) {
      const v = this.p(name);
      const t = tf.tensor(values, v.shape);
      v.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
