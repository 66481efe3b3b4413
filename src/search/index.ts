/** Using the joint space: embeddings, the vector store, search, zero-shot labels, questions, metrics. */
export { JointSpace, type JointSpaceOptions } from './jointSpace.js';
export { VectorStore, ANN_MIN_ROWS, DEFAULT_ANN, VIEW_CHECK_MS, type AnnSettings, type SearchFilter, type SearchHit, type StoreInfo, type TrackEntry, type TrackMeta } from './store.js';
export { Catalogue, TextCache, type ClipAnalysis, type SimilarResult } from './catalogue.js';
export { indexCatalogue, listCatalogue, type CatalogueItem, type CatalogueListing, type IndexFailure, type IndexOptions, type IndexReport } from './indexer.js';
export { zeroShotLabels, rankLabels, parseLabels, promptFor, DEFAULT_TEMPLATE, DEFAULT_TEMPERATURE, type LabelScore, type TextEmbedder, type ZeroShotOptions } from './zeroShot.js';
export { askTrack, parseQuestion, INSTRUMENTS, MOODS, TEMPI, type Answer, type AskOptions, type QuestionPlan } from './ask.js';
export { retrievalMetrics, genreAccuracy, chanceRecall, bestRank, evaluateRetrieval, type GenreAccuracy, type RetrievalEval, type RetrievalEvalOptions, type RetrievalMetrics } from './metrics.js';
export { exactSearch, topK, recallAtK, normalize, cosine, softmax, type Hit } from './vectors.js';
export { Conversation, type ConversationModel, type ConversationOptions, type Explanation, type Focus, type ListAnswer, type QueryTerm, type ResultTrack, type TermPrompt, type TurnResult } from './conversation.js';
export { catalogueView, loadCatalogueView, labelKey, type CatalogueView } from './catalogueView.js';
export { parseTurn, stemOf, type Criterion, type Operation, type ParseContext, type TrackRef } from './refine.js';
