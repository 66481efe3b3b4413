/**
 * The catalogue flags shared by `pretrain`, `eval` and `index`: `--columns FILE` (a JSON column
 * mapping, see data/datasets/catalogue.ts) and `--group COL` (the artist/album column of the
 * sidecar, or `artist`/`album` for embedded tags). Either one selects the catalogue layout.
 */
import { readColumnMapping, type ColumnMapping } from '../data/datasets/catalogue.js';
import type { LoadCorpusOptions } from '../data/datasets/load.js';
import { stringOption, type ParsedArgs } from './command.js';

export const CATALOGUE_FLAGS = { columns: { type: 'string' }, group: { type: 'string' } } as const;

export const CATALOGUE_USAGE = `  --columns FILE  catalogue column mapping (JSON), e.g. {"file":"labels.csv","id":"song_id",
                  "group":"artist","text":["moods"],"tags":["moods"],"genre":"genre9",
                  "labels":{"quadrant":"categorical","valence":"numeric"}}
  --group COL     the sidecar column every split and fold keeps together (artist, album);
                  without a sidecar, group embedded tags by artist or album`;

/** Loader options from the catalogue flags (empty when neither is given). */
export async function catalogueLoadOptions(args: ParsedArgs): Promise<Pick<LoadCorpusOptions, 'columns' | 'groupBy'>> {
  const file = stringOption(args, 'columns');
  const group = stringOption(args, 'group');
  if (!file && !group) return {};
  const columns: ColumnMapping = file ? await readColumnMapping(file) : {};
  const out: Pick<LoadCorpusOptions, 'columns' | 'groupBy'> = { columns };
  if (group) {
    columns.group = group;
    if (group === 'album' || group === 'artist') out.groupBy = group;
  }
  return out;
}
