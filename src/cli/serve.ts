/** `musicbert serve`: the JSON API and the web page over an indexed catalogue. */
import { Catalogue } from '../search/catalogue.js';
import { parseLabels } from '../search/zeroShot.js';
import { startServer } from '../serve/server.js';
import { UsageError } from '../util/errors.js';
import { numberOption, parseCommandArgs, stringOption, type Command } from './command.js';

const USAGE = `usage: musicbert serve --db PATH [--model DIR] [--port 8080] [--host 127.0.0.1] [--labels "jazz,rock,..."]
                       [--max-upload-mb 20] [--max-duration-s 1200] [--timeout-s 60] [--workers N]
                       [--allow-host NAME[,NAME...]]

Serves the web page (search box, players, clip upload with tags and neighbours) and the JSON API
(GET /api/search?q=&k=, GET /api/similar?id=&k=, POST /api/tags, POST /api/ask?q=, POST /api/upload,
GET /audio/:id) over the vector store at --db. --model defaults to the model the store was indexed
with; --labels are the tags shown for uploads (default: the ten GTZAN genres). Listens on
127.0.0.1 unless --host says otherwise, and answers only requests whose Host header names it
(127.0.0.1, localhost, [::1] or --host; --allow-host adds names, "*" any), which keeps web pages
elsewhere from reaching it through DNS rebinding. Uploads are decoded on --workers model threads
(default: the cores) and refused past --max-duration-s seconds of audio; a request past
--timeout-s is stopped and answered 503. Stop with Ctrl-C.`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'HTTP API and web page: search, similar tracks, tags and questions for uploads',
  usage: USAGE,
  async run(argv) {
    const a = parseCommandArgs(
      argv,
      { db: { type: 'string' }, model: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, labels: { type: 'string' }, 'max-upload-mb': { type: 'string' }, 'timeout-s': { type: 'string' }, 'max-duration-s': { type: 'string' }, workers: { type: 'string' }, 'allow-host': { type: 'string' } },
      USAGE,
    );
    const db = stringOption(a, 'db');
    if (!db) throw new UsageError(`--db is required\n\n${USAGE}`);
    if (a.positionals.length > 0) throw new UsageError(`unexpected argument "${a.positionals[0]}"\n\n${USAGE}`);
    const port = numberOption(stringOption(a, 'port'), 'port', 8080);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (got ${port})`);
    const uploadMb = numberOption(stringOption(a, 'max-upload-mb'), 'max-upload-mb', 20);
    const timeoutS = numberOption(stringOption(a, 'timeout-s'), 'timeout-s', 60);
    const durationS = numberOption(stringOption(a, 'max-duration-s'), 'max-duration-s', 1200);
    if (!(uploadMb > 0) || !(timeoutS > 0) || !(durationS > 0)) throw new UsageError('--max-upload-mb, --max-duration-s and --timeout-s must be positive');
    const workersText = stringOption(a, 'workers');
    const workers = workersText === undefined ? undefined : numberOption(workersText, 'workers', 1);
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 0 || workers > 64)) throw new UsageError(`--workers must be an integer from 0 (in-process) to 64 (got ${workers})`);
    const allowHosts = (stringOption(a, 'allow-host') ?? '').split(',').map((h) => h.trim()).filter((h) => h.length > 0);
    const labelsText = stringOption(a, 'labels');
    const model = stringOption(a, 'model');
    const catalogue = await Catalogue.open(model ? { db, model } : { db });
    const running = await startServer({
      catalogue,
      port,
      host: stringOption(a, 'host') ?? '127.0.0.1',
      limits: { maxUploadBytes: Math.round(uploadMb * (1 << 20)), requestTimeoutMs: Math.round(timeoutS * 1000), maxDurationS: durationS },
      allowHosts,
      ...(workers !== undefined ? { workers } : {}),
      ...(labelsText ? { labels: parseLabels(labelsText) } : {}),
      log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
    process.stderr.write(`musicbert serve: ${await catalogue.store.count()} tracks at ${running.url}/ (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await running.close();
    catalogue.close();
    return 0;
  },
};
