// bench_ort.js MODEL.onnx BATCH THREADS RUNS — times ONNX Runtime (node
// binding, CPU execution provider, fp32) on an image-tower graph exported
// by bench_ort_export.py: best and mean images/s over RUNS batches after
// one warm-up.  Used by scripts/bench-engine.sh; ORT_MODULE_DIR is where
// onnxruntime-node was installed.
const path = require('path');
const ort = require(path.join(process.env.ORT_MODULE_DIR || '.', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [file, batchS, threadsS, runsS] = process.argv.slice(2);
  const batch = +batchS, threads = +threadsS, runs = +runsS;
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all'});
  const meta = session.inputNames[0];
  const S = 224;
  const data = new Float32Array(batch * 3 * S * S);
  let seed = 7;
  for (let i = 0; i < data.length; i++) { seed = (seed * 1664525 + 1013904223) >>> 0; data[i] = (seed >>> 8) / 8388608 - 1; }
  const feeds = {}; feeds[meta] = new ort.Tensor('float32', data, [batch, 3, S, S]);
  const first = await session.run(feeds);
  const e = first[session.outputNames[0]].data;
  // The same pixels as bench_engine's: its "embedding[0][0..3]" line should match.
  console.log(`ORT embedding[0][0..3]: ${Array.from(e.slice(0, 4)).map(v => v.toFixed(5)).join(' ')}`);
  let best = 1e9, total = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const t = Number(process.hrtime.bigint() - t0) / 1e9;
    total += t; if (t < best) best = t;
  }
  console.log(`ORT ${ort.env.versions.common} fp32, batch ${batch}, ${threads} threads: ` +
              `${(batch * runs / total).toFixed(1)} img/s (mean of ${runs}), best ${(batch / best).toFixed(1)} img/s`);
}
main().catch(e => { console.error(e); process.exit(1); });
