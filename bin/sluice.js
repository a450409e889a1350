#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=32768 node --max-semi-space-size=4
// The package's bin: the compiled CLI (built by `npm ci` through the prepare script, or `npm run build`).
// --max-semi-space-size=4 caps V8's young generation at 4 MB per semi-space (the default grows to 16 MB+):
// a gateway holding thousands of open streams keeps much less resident memory, for a scavenge cost that
// does not show in throughput. MALLOC_MMAP_THRESHOLD_=32768 has glibc's malloc map blocks of 32 KB and
// more on their own and unmap them when freed. When undici's HTTP parser (WebAssembly) gets hot, V8
// recompiles it with its optimizing compiler on a helper thread, in some 15-23 MB of such blocks
// (heaptrack); under glibc's default (a threshold that rises to the largest block freed) they came from
// that thread's arena, which kept the pages: with 1,000 open streams the peak resident memory was some
// 15 MB higher. musl and other allocators ignore the variable. docs/operations.md has the figures.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(`sluice needs Node.js 22.19 or newer (24 LTS recommended); this is ${process.version}`);
  process.exit(1);
}
await import('../dist/src/cli.js');
