/**
 * A searchable catalogue: a vector store plus the joint space of the model that filled it.
 * Text → music search, music → music similarity, zero-shot labels and questions about a clip all
 * go through here, so the CLI and the HTTP server share one implementation.
 */
import { existsSync, statSync } from 'node:fs';
import { IoError, UsageError } from '../util/errors.js';
import { Lru } from '../util/lru.js';
import { askTrack, type Answer, type AskOptions } from './ask.js';
import { JointSpace, type AudioInput } from './jointSpace.js';
import { VectorStore, type SearchFilter, type SearchHit, type TrackMeta } from './store.js';
import { zeroShotLabels, type LabelScore, type TextEmbedder, type ZeroShotOptions } from './zeroShot.js';

/**
 * Text vectors, least recently used dropped first (prompts and queries repeat), at most `capacity`
 * of them. Keyed by `keyOf(text)`: the model's textKey (fingerprint + token ids), so "Slow  piano!"
 * and "slow piano" share an entry and a cached vector is bit-identical to a fresh one; by the text
 * itself when no key function is given. Concurrent misses of one key share one model call.
 */
export class TextCache implements TextEmbedder {
  private readonly cache: Lru<string, Float32Array>;
  private readonly pending = new Map<string, Promise<Float32Array>>();
  /** Lookups answered from the cache, and texts sent to the model (for tests and /api/info). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly space: TextEmbedder,
    readonly capacity = 512,
    private readonly keyOf: (text: string) => string = (t) => t,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new UsageError(`TextCache: capacity must be a positive integer (got ${capacity})`);
    this.cache = new Lru(capacity);
  }

  get alignTemperature(): number | undefined {
    return this.space.alignTemperature;
  }

  /** Entries held now (never more than capacity). */
  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }

  async embedText(texts: string | readonly string[]): Promise<Float32Array[]> {
    const list = typeof texts === 'string' ? [texts] : [...texts];
    const keys = list.map((t) => this.keyOf(t));
    // Texts neither cached nor already on their way to the model: one call for all of them.
    const found = new Map<string, Float32Array>();
    const missing = new Map<string, string>();
    keys.forEach((k, i) => {
      const v = found.get(k) ?? this.cache.get(k); // get marks it recently used
      if (v) {
        found.set(k, v);
        this.hits++;
      } else if (!this.pending.has(k) && !missing.has(k)) missing.set(k, list[i] as string);
    });
    if (missing.size > 0) {
      this.misses += missing.size;
      const call = this.space.embedText([...missing.values()]);
      [...missing.keys()].forEach((k, i) => {
        const p = call.then((vecs) => vecs[i] as Float32Array);
        this.pending.set(k, p);
        p.then((v) => this.cache.set(k, v), () => undefined).finally(() => this.pending.delete(k));
      });
    }
    return Promise.all(keys.map((k) => found.get(k) ?? (this.pending.get(k) as Promise<Float32Array>)));
  }
}

export interface SimilarResult {
  /** The stored track the query was, when it was an id. */
  query: { id?: string; durationS?: number };
  hits: SearchHit[];
}

export interface ClipAnalysis {
  durationS: number;
  labels: LabelScore[];
  neighbours: SearchHit[];
}

export class Catalogue {
  readonly text: TextCache;
  private constructor(readonly store: VectorStore, readonly space: JointSpace, private readonly ownsSpace: boolean) {
    this.text = new TextCache(space, 512, (t) => space.textKey(t));
  }

  /**
   * Open the store at `db` with `model` (a model directory or a loaded JointSpace); without one,
   * the model the store was indexed with. Refuses a model other than the one that made the vectors.
   */
  static async open(opts: { db: string; model?: string | JointSpace }): Promise<Catalogue> {
    const store = await VectorStore.open(opts.db);
    let space: JointSpace;
    let owns = true;
    try {
      if (opts.model instanceof JointSpace) {
        space = opts.model;
        owns = false;
      } else {
        const dir = opts.model ?? store.modelDir;
        if (!dir) throw new UsageError(`${opts.db}: the store does not record its model; pass --model DIR`);
        space = await JointSpace.load(dir);
      }
    } catch (err) {
      store.close();
      throw err;
    }
    if (space.dim !== store.dim || (store.model && space.fingerprint !== 'in-memory' && store.model !== space.fingerprint)) {
      if (owns) space.dispose();
      store.close();
      throw new IoError(`was indexed with another model than ${space.modelDir ?? 'the one given'} (${store.dim}-d vectors, fingerprint ${store.model?.slice(0, 12) ?? '?'}); search it with that model or re-index`, opts.db);
    }
    return new Catalogue(store, space, owns);
  }

  /** Tracks best matching a free-text description. */
  async searchText(query: string, k: number, opts: SearchFilter & { exact?: boolean | undefined } = {}): Promise<SearchHit[]> {
    const q = query.trim();
    if (q.length === 0) throw new UsageError('the search query is empty');
    const [v] = await this.text.embedText(q);
    return this.store.search(v as Float32Array, k, opts);
  }

  /**
   * Tracks that sound like `query`: a stored id (the track itself is left out) or audio (a file
   * path that is not an id, file bytes, or samples).
   */
  async similar(query: string | Exclude<AudioInput, string>, k: number, sampleRate?: number): Promise<SimilarResult> {
    if (typeof query === 'string') {
      const meta = await this.store.get(query);
      if (meta) {
        const v = (await this.store.vector(query)) as Float32Array;
        return { query: { id: meta.id, durationS: meta.durationS }, hits: await this.store.search(v, k, { exclude: new Set([meta.id]) }) };
      }
      if (!existsSync(query) || !statSync(query).isFile()) throw new UsageError(`"${query}" is neither a track id in the store nor an audio file`);
    }
    const [e] = await this.space.embedTracks([query], sampleRate);
    return { query: { durationS: e!.durationS }, hits: await this.store.search(e!.vector, k) };
  }

  /** Zero-shot labels for a clip (or a stored id). */
  async labels(audio: AudioInput, labels: readonly string[], opts: ZeroShotOptions & { sampleRate?: number } = {}): Promise<LabelScore[]> {
    return zeroShotLabels(this.text, await this.vectorOf(audio, opts.sampleRate), labels, opts);
  }

  async ask(audio: AudioInput, question: string, opts: AskOptions & { sampleRate?: number } = {}): Promise<Answer> {
    return askTrack(this.text, await this.vectorOf(audio, opts.sampleRate), question, opts);
  }

  /** An uploaded clip: its labels and its nearest catalogue tracks, from one embedding. */
  async analyse(audio: Exclude<AudioInput, string>, labels: readonly string[], k: number, opts: ZeroShotOptions & { sampleRate?: number } = {}): Promise<ClipAnalysis> {
    const [e] = await this.space.embedTracks([audio], opts.sampleRate);
    const v = e!.vector;
    return { durationS: e!.durationS, labels: await zeroShotLabels(this.text, v, labels, opts), neighbours: await this.store.search(v, k) };
  }

  async track(id: string): Promise<TrackMeta | undefined> {
    return this.store.get(id);
  }

  private async vectorOf(audio: AudioInput, sampleRate?: number): Promise<Float32Array> {
    if (typeof audio === 'string') {
      const stored = await this.store.vector(audio);
      if (stored) return stored;
    }
    return this.space.embedAudio(audio, sampleRate);
  }

  close(): void {
    this.store.close();
    if (this.ownsSpace) this.space.dispose();
  }
}
