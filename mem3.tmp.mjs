import { spawn } from 'node:child_process';
import { validateConfig } from './dist/src/config/load.js';
import { startServer } from './dist/src/server.js';
function start(args, re) { const c = spawn(process.execPath, args); return new Promise(r => { let s=''; c.stdout.on('data', d => { s+=d; const m = re.exec(s); if (m) r({c, url: m[1]}); }); }); }
const sim = await start(['dist/src/cli.js','simulate','--port','0','--tokens-per-second','10','--output-tokens','60'], /on (http:\S+)/);
const config = validateConfig({ server:{port:0}, logging:{level: process.env.LOGLEVEL ?? 'info'}, providers:[{name:'s',kind:'openai-compatible',base_url:sim.url+'/v1',max_connections:2000}], models:[{name:'bench-slow',targets:[{provider:'s',model:'m'}]}]});
const dest = { write(){} };
const s = await startServer(config, { logDestination: dest });
const m = () => { const u = process.memoryUsage(); return `rss ${(u.rss/1e6).toFixed(0)} heapUsed ${(u.heapUsed/1e6).toFixed(0)} heapTotal ${(u.heapTotal/1e6).toFixed(0)} ext ${(u.external/1e6).toFixed(0)} ab ${(u.arrayBuffers/1e6).toFixed(0)}`; };
console.log('idle', m());
const client = spawn(process.execPath, ['-e', `
const { Pool } = require('${process.cwd()}/node_modules/undici');
const pool = new Pool('${s.url}', { connections: 1000 });
const body = JSON.stringify({ model: 'bench-slow', stream: true, messages: [{ role: 'user', content: 'hi' }] });
Promise.all(Array.from({length:1000}, async () => { const r = await pool.request({path:'/v1/chat/completions',method:'POST',headers:{'content-type':'application/json'},body}); for await (const c of r.body); })).then(()=>{console.log('done'); process.exit(0)});
`], { stdio: 'inherit' });
let snap=false; const iv = setInterval(async () => { console.log(m(), 'inflight', s.gateway.inFlight()); if (!snap && s.gateway.inFlight() >= 1000) { snap = true; (await import('node:v8')).writeHeapSnapshot('/tmp/sluice.heapsnapshot'); console.log('snap'); } }, 1000);
await new Promise(r => client.on('exit', r));
clearInterval(iv);
console.log('end', m());
await s.shutdown(100); sim.c.kill();
