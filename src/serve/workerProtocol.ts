/** Messages between the server and its model workers (workerPool.ts ↔ modelWorker.ts). */
export type WorkerJob =
  | { id: number; kind: 'text'; texts: string[] }
  | { id: number; kind: 'file'; path: string; maxSeconds: number };

export interface WorkerError {
  name: string;
  code: string;
  message: string;
  source?: string;
  limitS?: number;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'fatal'; error: WorkerError }
  | { type: 'done'; id: number; vectors: Float32Array[]; durationS?: number }
  | { type: 'failed'; id: number; error: WorkerError };
