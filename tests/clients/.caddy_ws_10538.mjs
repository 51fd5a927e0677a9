
import WebSocket from 'ws';
import fs from 'node:fs';
const [url, ca, token] = process.argv.slice(2);
const ws = new WebSocket(url, { ca: fs.readFileSync(ca) });
const seen = [];
const done = (code) => { console.log(JSON.stringify(seen)); process.exit(code); };
setTimeout(() => done(1), 15000);
ws.on('open', () => {
  ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]));
  ws.send(JSON.stringify(['2', '2', 'realtime:c', 'phx_join', { config: { postgres_changes: [{ event: '*', schema: 'api', table: 'tasks' }] }, access_token: token }]));
});
ws.on('message', (m) => {
  const f = JSON.parse(m.toString());
  seen.push([f[3], f[4].status ?? f[4].message ?? f[4].data?.type]);
  if (f[3] === 'system') console.log('SUBSCRIBED');
  if (f[3] === 'postgres_changes') done(0);
});
ws.on('error', (e) => { console.log(String(e)); done(1); });
