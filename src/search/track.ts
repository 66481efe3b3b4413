/** What the store keeps for one track: a leaf module, so the store and its in-memory view share it. */
export interface TrackMeta {
  id: string;
  /** Absolute path of the audio file (served by id only, never by path). */
  path: string;
  genre?: string | undefined;
  tags: string[];
  /** Seconds of audio. */
  durationS: number;
  albumId?: string | undefined;
  split?: string | undefined;
  /** Tempo measured from the audio when it was indexed (BPM); absent in stores indexed before it was kept. */
  bpm?: number | undefined;
}

export interface TrackEntry extends TrackMeta {
  /** [dim] joint-space vector (stored unit-length). */
  vector: Float32Array;
}

export interface SearchHit extends TrackMeta {
  /** Cosine similarity to the query, in [-1, 1]. */
  score: number;
}
