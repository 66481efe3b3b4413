/**
 * The safetensors layout (8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data), so weights written here can be
 * read by Python's `safetensors` package and vice versa. Only F32 and I32 are needed.
 */
import { readFile } from 'node:fs/promises';
import { CheckpointError } from './errors.js';
import { writeFileAtomic } from './atomic.js';

export type TensorDType = 'F32' | 'I32';

export interface NamedArray {
  dtype: TensorDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export type TensorMap = Record<string, NamedArray>;

export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  // Sorted names give byte-identical files for identical weights.
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as NamedArray;
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) {
      throw new CheckpointError(`tensor "${name}" has ${t.data.length} values but shape [${t.shape}] needs ${expected}`);
    }
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerJson = JSON.stringify(header);
  // Pad the header so the data section starts 8-byte aligned, as the reference writer does.
  const pad = (8 - ((8 + Buffer.byteLength(headerJson)) % 8)) % 8;
  headerJson += ' '.repeat(pad);
  const headerBytes = Buffer.from(headerJson, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name] as NamedArray;
    // Typed arrays are little-endian on every platform Node runs on in practice (x86, arm64).
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): { tensors: TensorMap; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new CheckpointError('safetensors file is shorter than its 8-byte header length', source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > bytes.length) {
    throw new CheckpointError(`corrupt safetensors header (length ${headerLen}, file ${bytes.length} bytes)`, source);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
  } catch (err) {
    throw new CheckpointError('corrupt safetensors header (not JSON)', source, { cause: err });
  }
  const dataStart = 8 + headerLen;
  const tensors: TensorMap = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== 'F32' && e.dtype !== 'I32') throw new CheckpointError(`tensor "${name}" has unsupported dtype ${e.dtype}`, source);
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4 || dataStart + end > bytes.length || begin < 0) {
      throw new CheckpointError(`tensor "${name}" has a byte range that does not fit its shape or the file (truncated?)`, source);
    }
    // Copy so the result owns aligned memory independent of the file buffer.
    const raw = bytes.slice(dataStart + begin, dataStart + end);
    const data = e.dtype === 'F32' ? new Float32Array(raw.buffer, raw.byteOffset, count) : new Int32Array(raw.buffer, raw.byteOffset, count);
    tensors[name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata };
}

export async function saveSafetensors(path: string, tensors: TensorMap, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function loadSafetensors(path: string): Promise<{ tensors: TensorMap; metadata: Record<string, string> }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CheckpointError(`cannot read weights file (${(err as Error).message})`, path, { cause: err });
  }
  return decodeSafetensors(bytes, path);
}
