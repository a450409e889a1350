#!/usr/bin/env -S node --max-semi-space-size=4
// The package's bin: the compiled CLI (built by `npm ci` through the prepare script, or `npm run build`).
// --max-semi-space-size=4 caps V8's young generation at 4 MB per semi-space (the default grows to 16 MB+):
// a gateway holding thousands of open streams keeps much less resident memory, for a scavenge cost that
// does not show in throughput (docs/operations.md has the figures).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(`sluice needs Node.js 22.19 or newer (24 LTS recommended); this is ${process.version}`);
  process.exit(1);
}
await import('../dist/src/cli.js');
