import { spawn } from 'node:child_process'; import { readFileSync } from 'node:fs';
const c = spawn(process.execPath, [...(process.env.FLAGS?process.env.FLAGS.split(' '):[]), 'dist/src/cli.js', 'serve', '--port', '0']);
c.stdout.once('data', () => setTimeout(() => { console.log('idle RSS', /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${c.pid}/status`,'utf8'))[1]/1024); c.kill(); }, 1500));
