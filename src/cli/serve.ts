/** `musicbert serve`: the JSON API and the web page over an indexed catalogue. */
import { Catalogue } from '../search/catalogue.js';
import { parseLabels } from '../search/zeroShot.js';
import { startServer } from '../serve/server.js';
import { opt, parseOptions, type Command } from './command.js';

const USAGE = `usage: musicbert serve --db PATH [--model DIR] [--port 8080] [--host 127.0.0.1] [--labels "jazz,rock,..."]
                       [--max-upload-mb 20] [--timeout-s 60]

Serves the web page (search box, players, clip upload with tags and neighbours) and the JSON API
(GET /api/search?q=&k=, GET /api/similar?id=&k=, POST /api/tags, POST /api/ask?q=, POST /api/upload,
GET /audio/:id) over the vector store at --db. --model defaults to the model the store was indexed
with; --labels are the tags shown for uploads (default: the ten GTZAN genres). Listens on
127.0.0.1 unless --host says otherwise. Stop with Ctrl-C.`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'HTTP API and web page: search, similar tracks, tags and questions for uploads',
  usage: USAGE,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      {
        db: opt.string({ required: true, meta: 'PATH' }),
        model: opt.string(),
        port: opt.int({ min: 0, max: 65535, default: 8080 }),
        host: opt.string({ default: '127.0.0.1' }),
        labels: opt.string(),
        'max-upload-mb': opt.number({ positive: true, default: 20 }),
        'timeout-s': opt.number({ positive: true, default: 60 }),
      },
      USAGE,
    );
    const { db, model, port, host, labels: labelsText, 'max-upload-mb': uploadMb, 'timeout-s': timeoutS } = o;
    const catalogue = await Catalogue.open(model ? { db, model } : { db });
    const running = await startServer({
      catalogue,
      port,
      host,
      limits: { maxUploadBytes: Math.round(uploadMb * (1 << 20)), requestTimeoutMs: Math.round(timeoutS * 1000) },
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
