/**
 * Ogg page checksums. Every Ogg page carries a CRC-32 of itself; the Vorbis decoder does not check
 * it, so a damaged page would decode to noise. This filter passes only pages whose checksum
 * holds, resynchronising on the next "OggS" after damage, and counts what it dropped.
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, init 0) of a page with its CRC field read as zero. */
export function oggPageCrc(page: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const byte = i >= 22 && i < 26 ? 0 : (page[i] as number);
    crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] as number)) >>> 0;
  }
  return crc;
}

const isCapture = (b: Uint8Array, i: number): boolean => b[i] === 0x4f && b[i + 1] === 0x67 && b[i + 2] === 0x67 && b[i + 3] === 0x53;

/** Feed an Ogg stream in order; get back only its intact pages. */
export class OggPageFilter {
  private pending = new Uint8Array(0);
  /** Pages dropped for a bad checksum, plus stretches of bytes that were no page at all. */
  damaged = 0;
  private inJunk = false;

  /** The intact pages completed by `chunk`, as one fresh array (possibly empty). */
  push(chunk: Uint8Array): Uint8Array {
    const b = new Uint8Array(this.pending.length + chunk.length);
    b.set(this.pending);
    b.set(chunk, this.pending.length);
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < b.length) {
      if (b.length - i < 27) break;
      if (!isCapture(b, i)) {
        this.junk();
        i++;
        continue;
      }
      const nSeg = b[i + 26] as number;
      if (b.length - i < 27 + nSeg) break;
      let body = 0;
      for (let s = 0; s < nSeg; s++) body += b[i + 27 + s] as number;
      const len = 27 + nSeg + body;
      if (b.length - i < len) break;
      const page = b.subarray(i, i + len);
      const stored = (page[22]! | (page[23]! << 8) | (page[24]! << 16) | (page[25]! << 24)) >>> 0;
      if (page[4] === 0 && stored === oggPageCrc(page)) {
        out.push(page);
        this.inJunk = false;
        i += len;
      } else {
        this.damaged++;
        this.inJunk = true; // the rest of this page is junk, not a second problem
        i++;
      }
    }
    this.pending = b.slice(i);
    return concat(out);
  }

  /** End of input: a page cut off at the end counts as damaged. */
  finish(): void {
    if (this.pending.length > 0) this.junk();
    this.pending = new Uint8Array(0);
  }

  private junk(): void {
    if (!this.inJunk) this.damaged++;
    this.inJunk = true;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
