/**
 * Invented artist, album and track names and look-alike catalogue ids (Deezer, MSD, Amazon,
 * MusicBrainz), so the generated CSV/JSON files have the shape of the real ones. Names lean on
 * genre-flavoured words, which is realistic (album titles do carry genre cues) and harmless.
 */
import type { Rng } from '../../util/rng.js';

const FIRST = ['Ada', 'Bo', 'Cleo', 'Dex', 'Etta', 'Finn', 'Gus', 'Hazel', 'Ike', 'June', 'Kit', 'Lou', 'Mae', 'Nico', 'Otis', 'Pearl', 'Quinn', 'Ray', 'Sly', 'Tess', 'Uma', 'Vic', 'Wes', 'Xan', 'Yara', 'Zeke'];
const LAST = ['Abernathy', 'Bellweather', 'Calloway', 'Delacroix', 'Esposito', 'Fairbanks', 'Greer', 'Holloway', 'Ivers', 'Jessup', 'Kowalski', 'Lindqvist', 'Marchetti', 'Nakamura', 'Okafor', 'Pruitt', 'Quintero', 'Rourke', 'Salazar', 'Thibodeaux', 'Underhill', 'Vance', 'Whitlock', 'Yates'];
const BAND_ADJ = ['Velvet', 'Rusty', 'Electric', 'Silver', 'Midnight', 'Crooked', 'Golden', 'Hollow', 'Neon', 'Broken', 'Wandering', 'Iron', 'Paper', 'Crimson', 'Lonesome', 'Static'];
const BAND_NOUN = ['Hounds', 'Pilots', 'Orchard', 'Engines', 'Sparrows', 'Collective', 'Brothers', 'Wolves', 'Satellites', 'Lanterns', 'Ensemble', 'Tigers', 'Saints', 'Drifters', 'Machines', 'Choir'];

const TITLE_WORDS: Readonly<Record<string, readonly string[]>> = {
  blues: ['Crossroads', 'Muddy', 'Delta', 'Whiskey', 'Lowdown', 'Midnight', 'Train', 'Rain', 'Levee', 'Trouble'],
  classical: ['Nocturne', 'Sonata', 'Prelude', 'Variations', 'Adagio', 'Suite', 'Elegy', 'Fugue', 'Rondo', 'Serenade'],
  country: ['Dusty', 'Highway', 'Porch', 'Tennessee', 'Whiskey', 'Rodeo', 'Prairie', 'Hometown', 'Pickup', 'Cornfield'],
  disco: ['Boogie', 'Mirrorball', 'Funky', 'Dancefloor', 'Groove', 'Glitter', 'Saturday', 'Fever', 'Shake', 'Lights'],
  hiphop: ['Block', 'Cipher', 'Concrete', 'Hustle', 'Mic', 'Streets', 'Boom', 'Flow', 'Corner', 'Verse'],
  jazz: ['Blue', 'Bebop', 'Smoke', 'Cool', 'Lounge', 'Swing', 'Moonlight', 'Standard', 'Session', 'Reverie'],
  metal: ['Inferno', 'Abyss', 'Iron', 'Thunder', 'Wrath', 'Serpent', 'Eclipse', 'Doom', 'Storm', 'Requiem'],
  pop: ['Heartbeat', 'Summer', 'Forever', 'Sugar', 'Stars', 'Tonight', 'Paradise', 'Crush', 'Neon', 'Kiss'],
  reggae: ['Island', 'Roots', 'Zion', 'Sunshine', 'Rebel', 'Irie', 'Harbour', 'Yard', 'Dub', 'Babylon'],
  rock: ['Highway', 'Rebel', 'Fire', 'Wild', 'Electric', 'Stone', 'Runaway', 'Rust', 'Thunder', 'Engine'],
};
const TITLE_GLUE = ['of the', 'in the', 'and the', 'for the', 'under the', 'after the'];
const TITLE_NOUNS = ['Night', 'River', 'Heart', 'City', 'Road', 'Sky', 'Garden', 'Mirror', 'Morning', 'Machine', 'Ghost', 'Window'];

export function artistName(rng: Rng): string {
  return rng.bool(0.45)
    ? `${rng.pick(FIRST)} ${rng.pick(LAST)}`
    : `The ${rng.pick(BAND_ADJ)} ${rng.pick(BAND_NOUN)}`;
}

export function titleFor(rng: Rng, genre: string): string {
  const words = TITLE_WORDS[genre] ?? TITLE_NOUNS;
  switch (rng.int(0, 3)) {
    case 0: return `${rng.pick(words)} ${rng.pick(TITLE_NOUNS)}`;
    case 1: return `${rng.pick(TITLE_NOUNS)} ${rng.pick(TITLE_GLUE)} ${rng.pick(words)}`;
    case 2: return rng.pick(words);
    default: return `${rng.pick(words)} ${rng.pick(words)}`;
  }
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function code(rng: Rng, n: number, alphabet = UPPER): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng.next() * alphabet.length)];
  return s;
}

/** MSD-style song and track ids (SO / TR + 16 characters). */
export function msdIds(rng: Rng): { song: string; track: string } {
  return { song: `SO${code(rng, 16)}`, track: `TR${code(rng, 16)}` };
}

/** Amazon ASIN-style album id, unique per album index (its first characters encode the index). */
export function amazonId(rng: Rng, index: number): string {
  return `B0${index.toString(36).toUpperCase().padStart(4, '0')}${code(rng, 4)}`;
}

export function reviewerId(rng: Rng): string {
  return `A${code(rng, 13)}`;
}

/** A random (version 4 shaped) MusicBrainz id. */
export function mbid(rng: Rng): string {
  const h = (n: number) => code(rng, n, '0123456789abcdef');
  return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[rng.int(0, 3)]}${h(3)}-${h(12)}`;
}
