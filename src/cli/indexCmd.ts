/** `musicbert index`: embed a catalogue into a vector store, resumably. */
import { availableParallelism } from 'node:os';
import { indexCatalogue, type IndexReport } from '../search/indexer.js';
import { JointSpace } from '../search/jointSpace.js';
import { indexViaQueue } from '../search/queue/writer.js';
import { opt, parseOptions, type Command } from './command.js';
import { CATALOGUE_FLAGS, CATALOGUE_USAGE, catalogueLoadOptions } from './catalogueArgs.js';

const USAGE = `usage: musicbert index --model DIR --input DIR|LIST --db PATH [--batch 8] [--jobs N] [--ann auto|on|off] [--queue redis://HOST:PORT[/DB[/QUEUE]]] [--json]

Embeds every track of --input (a corpus directory, any folder of audio files, searched
recursively, or LIST: a text file of paths, one per line, # for comments, relative to the
list's folder) with the model and stores vectors and metadata (id, path, genre/tags when known,
duration) in the vector store at --db. --jobs N (default: the machine's cores) decodes files to
log-mel on N worker threads while this thread runs the model; the vectors do not depend on N.
Re-running resumes: ids already stored are skipped, and
each batch is committed atomically, so an interrupted run loses at most one batch. Files that do
not decode are listed and skipped. --ann builds the approximate index (a usearch HNSW graph saved
beside the table as ann.usearch/ann.json, extended on later runs): "auto" once the store holds
20000 tracks or more. One writer per store: a second index run on the same --db
stops with an error while the first runs (a lock left by a killed run is taken over), and
duplicate rows left by older versions are removed at the start of a run. A catalogue folder's
tracks.csv/tracks.jsonl sidecar is read when present (or embedded tags when not):
${CATALOGUE_USAGE}

With --queue, the tracks are embedded by "musicbert worker" processes (any number, on any machine
that sees the files) through BullMQ on that Redis; this process enqueues one job per --batch tracks and
is the one writer of the store. Re-running after any crash resumes with every track stored once.`;

const ANN_MODES = ['auto', 'on', 'off'] as const;

function summary(r: IndexReport): string {
  const lines = [
    `${r.source} of ${r.total} tracks: ${r.added} added, ${r.skipped} already indexed, ${r.failed.length} failed; store holds ${r.stored}`,
    `${r.seconds.toFixed(1)} s, ${r.tracksPerSecond.toFixed(2)} tracks/s${r.annBuilt ? ', approximate index built' : ''}`,
  ];
  if (r.duplicatesRemoved > 0) lines.push(`removed ${r.duplicatesRemoved} duplicate rows left by an older version's concurrent writers`);
  for (const f of r.failed.slice(0, 10)) lines.push(`  failed ${f.id}: ${f.problem}`);
  if (r.failed.length > 10) lines.push(`  … and ${r.failed.length - 10} more (see --json)`);
  return lines.join('\n');
}

export const indexCommand: Command = {
  name: 'index',
  summary: 'embed a catalogue (corpus or folder of audio) into a vector store, resumably',
  usage: USAGE,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      {
        model: opt.string({ required: true, meta: 'DIR' }),
        input: opt.string({ required: true, meta: 'DIR|LIST' }),
        db: opt.string({ required: true, meta: 'PATH' }),
        batch: opt.int({ min: 1, default: 8 }),
        jobs: opt.int({ min: 1, default: availableParallelism() }),
        ann: opt.string({ choices: ANN_MODES, default: 'auto' }),
        queue: opt.string({ meta: 'URL' }),
        json: opt.flag(),
        ...CATALOGUE_FLAGS,
      },
      USAGE,
    );
    const load = await catalogueLoadOptions(o);
    const { model, input, db, batch, queue, jobs } = o;
    const ann = o.ann as (typeof ANN_MODES)[number];
    const space = await JointSpace.load(model);
    // Ctrl-C finishes the batch in flight and commits it, so the next run resumes cleanly.
    const stop = new AbortController();
    const onSigint = () => {
      if (stop.signal.aborted) process.exit(130);
      process.stderr.write('\nstopping after this batch (Ctrl-C again to quit now)\n');
      stop.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      const r = queue
        ? await indexViaQueue({ queue, space, input, db, batch, ann, signal: stop.signal, load })
        : await indexCatalogue({ space, input, db, batch, ann, signal: stop.signal, load, jobs });
      process.stdout.write((o.json ? JSON.stringify(r, null, 2) : summary(r)) + '\n');
      return r.interrupted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
      space.dispose();
    }
  },
};
