import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
function start(args, re) { const c = spawn(process.execPath, args); return new Promise(r => { let s=''; c.stdout.on('data', d => { s+=d; const m = re.exec(s); if (m) r({c, url: m[1]}); }); }); }
const rss = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`,'utf8'))[1])/1024;
const sim = await start(['dist/src/cli.js','simulate','--port','0','--tokens-per-second','10','--output-tokens','60'], /on (http:\S+)/);
const bare = await start(['dist/bench/bare-proxy.js', sim.url], /on (http:\S+)/);
console.log('idle', rss(bare.c.pid).toFixed(0));
const client = spawn(process.execPath, ['-e', `
const { Pool } = require('${process.cwd()}/node_modules/undici');
const pool = new Pool('${bare.url}', { connections: 1000 });
const body = JSON.stringify({ model: 'bench-slow', stream: true, messages: [{ role: 'user', content: 'hi' }] });
Promise.all(Array.from({length:1000}, async () => { const r = await pool.request({path:'/v1/chat/completions',method:'POST',headers:{'content-type':'application/json'},body}); for await (const c of r.body); })).then(()=>{console.log('done'); process.exit(0)});
`], { stdio: 'inherit' });
let peak = 0;
const iv = setInterval(() => { peak = Math.max(peak, rss(bare.c.pid)); }, 100);
await new Promise(r => client.on('exit', r));
clearInterval(iv);
console.log('bare peak', peak.toFixed(0));
bare.c.kill(); sim.c.kill();
