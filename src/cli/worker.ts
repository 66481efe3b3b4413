/** `musicbert worker`: embed tracks from a Redis queue filled by `musicbert index --queue`. */
import { availableParallelism } from 'node:os';
import { JointSpace } from '../search/jointSpace.js';
import { checkRedis, parseQueueUrl } from '../search/queue/connection.js';
import { startWorker } from '../search/queue/worker.js';
import { opt, parseOptions, type Command } from './command.js';

const USAGE = `usage: musicbert worker --queue redis://HOST:PORT[/DB[/QUEUE]] --model DIR [--jobs N] [--lock-ms 30000] [--quiet]

Takes track jobs from the queue that "musicbert index --queue" fills, embeds each with the model
(it must be the same model as the index run's: jobs carry its fingerprint) and hands the vectors
back to the index process, which stores them. Run any number of workers, on any machine that sees
the audio files at the same paths. --jobs N (default: the machine's cores, as index) decodes a
job's files to log-mel on N threads while this one runs the model; the vectors do not depend on N. A worker that dies mid-job loses its lock and the job goes back
to the queue after --lock-ms; SIGTERM or Ctrl-C finishes the job in flight, then exits.`;

export const workerCommand: Command = {
  name: 'worker',
  summary: 'embed tracks from a Redis queue for a distributed "index --queue" run',
  usage: USAGE,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      {
        queue: opt.string({ required: true, meta: 'URL' }),
        model: opt.string({ required: true, meta: 'DIR' }),
        'lock-ms': opt.int({ min: 100, default: 30000 }),
        jobs: opt.int({ min: 1, default: availableParallelism() }),
        quiet: opt.flag(),
      },
      USAGE,
    );
    const { queue: url, model } = o;
    const lockMs = o['lock-ms'];
    const addr = parseQueueUrl(url);
    await checkRedis(addr);
    const space = await JointSpace.load(model);
    const quiet = o.quiet;
    const log = (line: string) => {
      if (!quiet) process.stderr.write(`worker ${process.pid}: ${line}\n`);
    };
    // Fault injection for the tests (a job that stays in flight long enough to kill its worker).
    const delayMs = Number(process.env.MUSICBERT_WORKER_TEST_DELAY_MS ?? 0) || undefined;
    const worker = startWorker({
      redis: addr.redis, queue: addr.name, space, lockMs, jobs: o.jobs, ...(delayMs ? { delayMs } : {}),
      onJob: (event, job, detail) => log(`${event} ${job.id}${detail ? `: ${detail}` : ''}`),
    });
    log(`serving ${addr.display} with ${model}, front end on ${o.jobs} thread${o.jobs === 1 ? '' : 's'}`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        log('stopping after the job in flight');
        resolve();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    await worker.close();
    space.dispose();
    log(`${worker.stats.done} done, ${worker.stats.failed} failed`);
    return 0;
  },
};
