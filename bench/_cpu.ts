import autocannon from 'autocannon';
import { transferGenerator } from './transfer-gen.ts';
const gen = transferGenerator({ seed: 1, payers: 100000, payees: 20000, runId: 'c' + Date.now() });
const r = await autocannon({ url: `http://127.0.0.1:${process.env.PORT}`, connections: 64, duration: 8, requests: [{ method: 'POST', path: '/v1/transfers/score', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify(gen()) }) }] });
console.log(r.requests.average, r.latency.p50, r.latency.p99, r.non2xx);
