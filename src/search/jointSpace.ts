/**
 * The search side's name for the embedding pipeline (model/pipeline.ts): search, the index and the
 * server embed through exactly the code Table 1 measures.
 */
export {
  MusicBertPipeline as JointSpace,
  type AudioInput,
  type EncodedTrack,
  type PipelineOptions as JointSpaceOptions,
  type TrackEmbedding,
} from '../model/pipeline.js';
