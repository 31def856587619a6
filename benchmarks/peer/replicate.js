// The peer offline-first sync engine for fieldkit's benchmarks: PouchDB replication from a
// CouchDB-protocol server (express-pouchdb over pouchdb-node, LevelDB on disk) into a fresh
// local PouchDB (LevelDB on disk), over loopback. The same records fieldkit's first sync
// pulls, one document per record.
//
//   node replicate.js RECORDS.ndjson WORKDIR BATCH_SIZE
//
// Loading the server is not timed; the replication is. Prints one JSON line.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const express = require('express');
const PouchDB = require('pouchdb-node');

async function main() {
  const [file, work, batch] = process.argv.slice(2);
  const batchSize = parseInt(batch || '500', 10);
  fs.mkdirSync(path.join(work, 'server'), { recursive: true });
  fs.mkdirSync(path.join(work, 'local'), { recursive: true });
  const ServerDB = PouchDB.defaults({ prefix: path.join(work, 'server') + path.sep });
  const app = express();
  app.use('/', require('express-pouchdb')(ServerDB, { mode: 'minimumForPouchDB', logPath: path.join(work, 'log.txt') }));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = server.address().port;
  const remote = new ServerDB('caseload');
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let chunk = [];
  let loaded = 0;
  for await (const line of rl) {
    if (!line) continue;
    const r = JSON.parse(line);
    chunk.push({ _id: `${r.record_type}:${r.id}`, type: r.record_type, version: r.version, case_id: r.case_id, data: r.body });
    if (chunk.length === 1000) {
      await remote.bulkDocs(chunk);
      loaded += chunk.length;
      chunk = [];
    }
  }
  if (chunk.length) {
    await remote.bulkDocs(chunk);
    loaded += chunk.length;
  }
  const local = new PouchDB(path.join(work, 'local', 'caseload'));
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await local.replicate.from(`http://127.0.0.1:${port}/caseload`, { batch_size: batchSize });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const info = await local.info();
  console.log(JSON.stringify({
    loaded, replicated: result.docs_written, local_docs: info.doc_count, seconds,
    rate: result.docs_written / seconds, batch_size: batchSize, ok: result.ok,
    cpu_seconds: cpuSeconds,
  }));
  await local.close();
  await remote.close();
  server.close();
}

main().then(() => process.exit(0)).catch((err) => {
  console.error(`peer replication failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
