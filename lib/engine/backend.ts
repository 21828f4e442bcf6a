/**
 * Chooses and starts the TensorFlow.js backend once per process (or worker thread).
 *
 * Order: tfjs-node-gpu → tfjs-node → wasm → cpu. The native bindings are optional dependencies
 * whose install script downloads libtensorflow; where that cannot happen they are present but do
 * not load, and we fall through to wasm with the fast training kernels of `wasm-kernels.ts`.
 * `LATENT_ATLAS_BACKEND` (parsed by `lib/config.ts`) forces one backend.
 */
import { tf } from './tf';
import { registerFastWasmKernels } from './wasm-kernels';

export const BACKEND_NAMES = Object.freeze(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const);
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendCandidate {
  name: BackendName;
  /** npm package that provides it. */
  package: string;
  version: string | null;
  available: boolean;
  /** Why it was skipped, or null when it is the one in use. */
  reason: string | null;
}

export interface EngineInfo {
  /** The backend in use. */
  backend: BackendName;
  /** tfjs's own name for it ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  why: string;
  candidates: BackendCandidate[];
  tfjsVersion: string;
}

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

// Resolved through Node's own loader, also when the web server's bundler compiles this file (it would
// otherwise replace `require` with its own, which cannot find optional packages at run time).
const { createRequire } = process.getBuiltinModule('node:module') as typeof import('node:module');
const require = createRequire(`${process.cwd()}/package.json`);
let engine: Promise<EngineInfo> | null = null;

function packageVersion(pkg: string): string | null {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

async function tryStart(name: BackendName): Promise<string | null> {
  const pkg = PACKAGES[name];
  if (packageVersion(pkg) === null) {
    return name === 'tensorflow-gpu' || name === 'tensorflow'
      ? `${pkg} is not installed (an optional dependency whose install script downloads libtensorflow; npm skips it where that is impossible)`
      : `${pkg} is not installed`;
  }
  try {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      // The native addon registers the 'tensorflow' backend when it loads.
      require(pkg);
      if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but its backend failed to start`;
      return null;
    }
    if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      registerFastWasmKernels();
    }
    if (!(await tf.setBackend(name))) return `the ${name} backend failed to start`;
    return null;
  } catch (error) {
    return `${pkg} could not load: ${firstLine(error)}`;
  }
}

/**
 * Starts the best available backend (or `preferred`), once. Later calls return the same result.
 *
 * @example const { backend, why } = await initEngine(); // { backend: 'wasm', why: '…' }
 */
export function initEngine(preferred?: BackendName): Promise<EngineInfo> {
  engine ??= start(preferred);
  return engine;
}

async function start(preferred?: BackendName): Promise<EngineInfo> {
  const order: readonly BackendName[] = preferred ? [preferred] : BACKEND_NAMES;
  const candidates: BackendCandidate[] = [];
  for (const name of BACKEND_NAMES) {
    candidates.push({ name, package: PACKAGES[name], version: packageVersion(PACKAGES[name]), available: false, reason: 'not tried' });
  }
  for (const name of order) {
    const candidate = candidates.find((c) => c.name === name)!;
    const failure = await tryStart(name);
    candidate.reason = failure;
    candidate.available = failure === null;
    if (failure === null) {
      for (const other of candidates) {
        if (other.reason === 'not tried')
          other.reason = preferred ? `not requested (LATENT_ATLAS_BACKEND=${preferred})` : `${name} is preferred`;
      }
      await tf.ready();
      return {
        backend: name,
        tfBackend: tf.getBackend(),
        why: preferred ? `forced by LATENT_ATLAS_BACKEND=${preferred}` : 'first backend in the preference order that started',
        candidates,
        tfjsVersion: tf.version.tfjs,
      };
    }
  }
  const reasons = candidates.map((c) => `${c.name}: ${c.reason}`).join('; ');
  throw new Error(`no TensorFlow.js backend could start (${reasons})`);
}
