/**
 * What a job is, in a line a user reads in the status area and the jobs list (pure: no DOM, so it
 * is unit-tested): the kind and its parameters, and for a re-embed queued by the worker, why.
 */
import type { Job } from './api';

/** A re-embed of every image, with its count once known and why when the worker queued it (job-service.ts queueInputUpgrade). */
function describeReembed(job: Job): string {
  const total = job.progress.total;
  const what = total === undefined ? 'every image' : `${total.toLocaleString()} ${total === 1 ? 'image' : 'images'}`;
  return job.params.reason === 'input-version' ? `Re-embedding ${what}: image preparation changed in this version` : `Re-embedding ${what}`;
}

export function describeJob(job: Job): string {
  const p = job.params;
  switch (job.kind) {
    case 'train':
      return `Training a model on ${p.data === 'fashion-mnist' ? 'Fashion-MNIST' : 'the library'}`;
    case 'ingest':
      return `Adding images from ${String(p.folder).split('/').slice(-2).join('/')}`;
    case 'trash':
      return `Moving ${Array.isArray(p.ids) ? p.ids.length : ''} images to the trash`;
    case 'cluster':
      return `Clustering (k = ${String(p.k)})`;
    case 'map':
      return `Computing the ${String(p.method).toUpperCase()} map`;
    case 'activate':
      return `Switching to model ${String(p.modelId)}`;
    case 'embed':
      return p.all ? describeReembed(job) : 'Embedding images';
    case 'duplicates':
      return 'Looking for near-duplicates';
    default:
      return job.kind;
  }
}
