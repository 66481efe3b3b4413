/** Corpus loading and the public dataset layouts (GTZAN, Deezer mood, MuMu), as one import. */
export type { Corpus, TrackRecord, AlbumRecord, LoadProblem, Split } from '../corpus.js';
export { loadCorpus, type Layout, type LoadCorpusOptions } from './load.js';
export { formatProblems } from './problems.js';
export { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, readManifest, type Manifest, type ManifestAlbum, type ManifestOptions, type ManifestTrack } from './manifest.js';
export { GTZAN_GENRES, type GtzanGenre, loadGtzan, readGtzanSplit, findGtzanRoot, parseSplitName, type GtzanSplitRow, type GtzanLoadOptions, type GtzanLoadResult } from './gtzan.js';
export { DEEZER_COLUMNS, DEEZER_FILES, loadDeezer, readDeezerCsv, readDeezerSplits, type DeezerRow, type DeezerLoadOptions, type DeezerLoadResult } from './deezer.js';
export { readMumuAlbums, parseMumuAlbums, linkAlbums, type MumuAlbum } from './mumu.js';
export { parseCsv, readCsvTable, formatCsv, type CsvRow, type CsvTable } from './csv.js';
export { stratifiedSplit, DEFAULT_SPLIT_RATIOS, type SplitRatios } from './split.js';
export { sniffAudio, indexAudioDir, AUDIO_EXTENSIONS, type AudioCheck } from './audioFiles.js';
export { loadCatalogue, readColumnMapping, parseColumnMapping, findSidecar, splitList, SIDECAR_NAMES, type ColumnMapping, type CatalogueOptions } from './catalogue.js';
export { walkAudioFiles, type FoundAudio } from './audioFiles.js';
