/**
 * Which file names are a data set's credits (ATTRIBUTION.md, LICENSE.txt, README…) rather than
 * images. Pure and free of Node modules, so that the server's ingest and the browser's folder
 * upload skip the same files.
 */

/** File names (without extension) that credit a data set rather than hold an image. */
const CREDIT_NAMES = Object.freeze(['attribution', 'attributions', 'credits', 'license', 'licence', 'copying', 'notice', 'readme']);
const CREDIT_EXTENSIONS = Object.freeze(['', '.md', '.txt', '.markdown', '.rst']);

/** True for a data set's credits file (ATTRIBUTION.md, LICENSE.txt, README…), whatever its case or folder. */
export function isCreditFile(path: string): boolean {
  const name = (path.split(/[/\\]/).pop() ?? '').toLowerCase();
  const dot = name.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return CREDIT_NAMES.includes(stem) && CREDIT_EXTENSIONS.includes(extension);
}
