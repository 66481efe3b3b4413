/**
 * The catalogue flags shared by `pretrain`, `eval` and `index`: `--columns FILE` (a JSON column
 * mapping, see data/datasets/catalogue.ts) and `--group COL` (the artist/album column of the
 * sidecar, or `artist`/`album` for embedded tags). Either one selects the catalogue layout.
 */
import { readColumnMapping, type ColumnMapping } from '../data/datasets/catalogue.js';
import type { LoadCorpusOptions } from '../data/datasets/load.js';
import { opt } from './command.js';

export const CATALOGUE_FLAGS = { columns: opt.string({ meta: 'FILE' }), group: opt.string({ meta: 'COL' }) };

export const CATALOGUE_USAGE = `  --columns FILE  catalogue column mapping (JSON), e.g. {"file":"labels.csv","id":"song_id",
                  "group":"artist","text":["moods"],"tags":["moods"],"genre":"genre9",
                  "labels":{"quadrant":"categorical","valence":"numeric"}}
  --group COL     the sidecar column every split and fold keeps together (artist, album);
                  without a sidecar, group embedded tags by artist or album`;

/** Loader options from the catalogue flags (empty when neither is given). */
export async function catalogueLoadOptions(values: { columns: string | undefined; group: string | undefined }): Promise<Pick<LoadCorpusOptions, 'columns' | 'groupBy'>> {
  const file = values.columns;
  const group = values.group;
  if (!file && !group) return {};
  const columns: ColumnMapping = file ? await readColumnMapping(file) : {};
  const out: Pick<LoadCorpusOptions, 'columns' | 'groupBy'> = { columns };
  if (group) {
    columns.group = group;
    if (group === 'album' || group === 'artist') out.groupBy = group;
  }
  return out;
}
