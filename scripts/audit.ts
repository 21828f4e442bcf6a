/**
 * npm run audit — the dependency check of issue 7, in one JSON line: `npm audit` on the
 * production dependencies (advisories by severity, or why the registry could not answer) and the
 * image decoders in use (sharp and the libvips it bundles) next to the newest sharp the registry
 * has, since decoder fixes arrive as sharp releases. Exits non-zero on a high or critical advisory
 * or an outdated sharp; an unreachable audit endpoint is reported, not hidden.
 */
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { runCli } from './cli/run';

function npm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('npm', args, { encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

await runCli(async () => {
  const audit = npm(['audit', '--omit=dev', '--json']);
  let advisories: Record<string, number> | null = null;
  let auditError: string | null = null;
  try {
    const parsed = JSON.parse(audit.stdout) as {
      metadata?: { vulnerabilities?: Record<string, number> };
      error?: { summary?: string };
      message?: string;
    };
    if (parsed.metadata?.vulnerabilities) advisories = parsed.metadata.vulnerabilities;
    else auditError = parsed.message || parsed.error?.summary || 'npm audit returned no report';
  } catch {
    auditError = audit.stderr.trim().split('\n').at(-1) ?? 'npm audit gave no output';
  }
  const latest = npm(['view', 'sharp', 'version']);
  const newestSharp = latest.status === 0 ? latest.stdout.trim() : null;
  const versions = sharp.versions as Record<string, string>;
  const report = {
    advisories,
    audit_error: auditError,
    sharp: versions.sharp,
    libvips: versions.vips,
    newest_sharp: newestSharp,
    sharp_current: newestSharp === null ? null : newestSharp === versions.sharp,
  };
  console.log(JSON.stringify(report));
  if ((advisories && (advisories.high ?? 0) + (advisories.critical ?? 0) > 0) || report.sharp_current === false) process.exitCode = 1;
});
