// Fails CI on high or critical advisories in production dependencies (npm audit --omit=dev).
// Where the registry in reach does not serve the advisory endpoint, it says so and does not fail:
// that is a fact about the network, not about the dependencies.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error(`npm audit gave no JSON (exit ${run.status}):\n${run.stderr}`);
  process.exit(1);
}
const counts = report?.metadata?.vulnerabilities;
if (counts === undefined) {
  console.log(`npm audit: the advisory service cannot be reached from here (HTTP ${report.statusCode ?? '?'}); not checked`);
  process.exit(0);
}
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`npm audit (production dependencies): ${JSON.stringify(counts)}`);
if (serious > 0) {
  console.error(`npm audit found ${serious} high or critical advisories in production dependencies`);
  process.exit(1);
}
