/**
 * RFC 4180 CSV reading with line numbers, so a malformed row in an 18k-row file is reported as
 * "file: line N: ..." instead of a silent shift of columns. Quoted fields may contain commas,
 * doubled quotes and newlines (the Deezer titles do: `"Theme From ""Titanic"""`).
 */
import { readFile } from 'node:fs/promises';
import { DatasetError } from '../../util/errors.js';

export interface CsvRow {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

/** Split CSV text into records. Blank lines are skipped; a leading BOM is ignored. */
export function parseCsv(text: string, source: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let atRecordEnd = false;
    while (!atRecordEnd) {
      if (text[i] === '"') {
        // Quoted field: runs to the next lone quote; "" is a literal quote.
        i++;
        for (;;) {
          if (i >= n) throw new DatasetError(`line ${start}: unterminated quoted field`, source);
          const c = text[i] as string;
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        const after = text[i];
        if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
          throw new DatasetError(`line ${line}: unexpected character ${JSON.stringify(after)} after a closing quote`, source);
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 /* , */ || c === 10 /* \n */ || c === 13 /* \r */) break;
          j++;
        }
        field += text.slice(i, j);
        i = j;
      }
      const c = text[i];
      if (c === ',') {
        fields.push(field);
        field = '';
        i++;
      } else {
        fields.push(field);
        if (c === '\r') i++;
        if (text[i] === '\n') i++;
        line++;
        atRecordEnd = true;
      }
    }
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: start, fields });
  }
  return rows;
}

export interface CsvTable {
  path: string;
  header: string[];
  /** Each row as column name -> value, with its line number. */
  rows: Array<{ line: number; values: Record<string, string> }>;
}

/**
 * Read a CSV file whose header must contain `required` columns (any order, extra columns kept).
 * Every row must have as many fields as the header.
 */
export async function readCsvTable(path: string, required: readonly string[]): Promise<CsvTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read CSV (${(err as Error).message})`, path, { cause: err });
  }
  return csvTableFromText(text, path, required);
}

export function csvTableFromText(text: string, path: string, required: readonly string[]): CsvTable {
  const records = parseCsv(text, path);
  const first = records[0];
  if (!first) throw new DatasetError(`empty CSV; expected a header with ${required.join(',')}`, path);
  const header = first.fields.map((h) => h.trim());
  const missing = required.filter((r) => !header.includes(r));
  if (missing.length > 0) {
    throw new DatasetError(`line ${first.line}: header lacks column(s) ${missing.join(', ')} (found: ${header.join(',')})`, path);
  }
  const rows: CsvTable['rows'] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length) {
      throw new DatasetError(`line ${r.line}: expected ${header.length} fields (${header.join(',')}), got ${r.fields.length}`, path);
    }
    const values: Record<string, string> = {};
    header.forEach((h, k) => { values[h] = r.fields[k] as string; });
    rows.push({ line: r.line, values });
  }
  return { path, header, rows };
}

/** Quote a field only when needed, so plain ids stay plain. */
export function csvField(value: string | number): string {
  const s = typeof value === 'number' ? String(value) : value;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  return [header.join(','), ...rows.map((r) => r.map(csvField).join(','))].join('\n') + '\n';
}
