/**
 * Album reviews in the manner of Amazon customer reviews (as in MuMu): an opener, what the music
 * is like (style, instruments, pace, mood, production) in varied words, a comparison, an aside
 * that has nothing to do with the music, and a verdict. The text is written from the album's
 * actual tracks, so it carries real signal about genre, instruments, tempo and mood, but it
 * describes rather than lists: "a walking upright bass", "languid", "like a late set at the
 * Village Vanguard", never "jazz, slow, bass". Like real reviewers, most reviews also name the
 * genre in passing ("a jazz record through and through") and say whether you can dance to it:
 * without those words in the corpus, a zero-shot prompt such as "a jazz track" is all [UNK].
 */
import type { Rng } from '../../util/rng.js';
import type { InstrumentName, KitName } from './types.js';

export interface AlbumFacts {
  artist: string;
  title: string;
  /** Primary genre first. */
  genres: string[];
  tempoClass: 'slow' | 'medium' | 'fast';
  valence: number;
  arousal: number;
  /** Drums on most tracks, a pace above slow and an even meter. */
  danceable: boolean;
  /** Instruments heard on most tracks, most common first. */
  instruments: InstrumentName[];
  kit: KitName | null;
  swing: boolean;
  triple: boolean;
  distortion: boolean;
  electronic: boolean;
  acoustic: boolean;
  reverb: boolean;
  lofi: boolean;
}

export interface Review {
  reviewerID: string;
  overall: number;
  summary: string;
  reviewText: string;
}

const STYLE: Readonly<Record<string, readonly string[]>> = {
  blues: ['twelve-bar laments', 'Delta-soaked shuffles', 'bent-note confessions', 'juke-joint grooves', 'songs about hard luck and the devil at the crossroads', 'that Chicago-style shuffle', 'front-porch blue notes'],
  classical: ['chamber pieces with a real sense of form', 'long, sonata-like arcs', 'stately orchestral movements', 'music built for a concert hall', 'Romantic-era melodies', 'careful counterpoint', 'the conservatory tradition at its best'],
  country: ['honky-tonk tunes', 'Nashville-style storytelling', 'dusty two-steps', 'Appalachian twang', 'front-porch picking', 'songs about pickup trucks and small towns', 'boot-stomping barn-dance numbers'],
  disco: ['dancefloor fillers', 'mirrorball anthems', 'relentless four-on-the-floor grooves', 'Studio 54-era glitter', 'Saturday-night boogie', 'strings-and-hi-hat euphoria'],
  hiphop: ['boom-bap beats', 'head-nodding loops', 'tight rhymes over dusty breaks', 'street poetry', 'cipher-ready bars', 'sample-based production with plenty of swagger'],
  jazz: ['smoky late-night standards', 'bebop runs', 'modal explorations', 'swinging small-combo interplay', 'the Blue Note tradition', 'improvised solos over ii-V changes', 'cocktail-hour sophistication'],
  metal: ['crushing riffs', 'headbanging anthems', 'double-kick onslaughts', 'downtuned aggression', 'mosh-pit fodder', 'thrash-worthy gallops', 'walls of amplified fury'],
  pop: ['radio-ready hooks', 'catchy choruses', 'chart-friendly anthems', 'sing-along melodies', 'glossy three-minute songs', 'top-40 polish'],
  reggae: ['offbeat skanks', 'island grooves', 'roots rhythms straight from Kingston', 'one-drop riddims', 'laid-back yard vibes', 'dub-heavy bass lines', 'that Trenchtown spirit'],
  rock: ['guitar-driven anthems', 'garage-band swagger', 'arena-sized choruses', 'riff-heavy rockers', 'classic-rock crunch', 'bar-band energy', 'power-chord stompers'],
};

/** What listeners call each genre: the plain name first (as the genre tags and prompts spell it). */
const LABEL: Readonly<Record<string, readonly string[]>> = {
  blues: ['blues', 'electric blues', 'the blues'],
  classical: ['classical', 'classical music'],
  country: ['country', 'country and western'],
  disco: ['disco', 'seventies disco'],
  hiphop: ['hip hop', 'hip-hop', 'rap'],
  jazz: ['jazz', 'straight-ahead jazz'],
  metal: ['metal', 'heavy metal'],
  pop: ['pop', 'mainstream pop'],
  reggae: ['reggae', 'roots reggae'],
  rock: ['rock', 'rock and roll'],
};

/** A genre named in passing; {g} is a plain genre name, so it reads as an adjective or a noun. */
const NAMED = [
  'A {g} record through and through.',
  'Great {g} album.',
  'This is {g} at its finest.',
  'If you like {g}, you will like this.',
  'Solid {g} from start to finish.',
  'Every track is pure {g}.',
  'Easily the best {g} I have heard this year.',
  'Real {g}, played by people who love it.',
  'As {g} albums go, this is one of the good ones.',
];

const DANCE = {
  yes: ['Very danceable.', 'You can dance to every track.', 'Great music for dancing.', 'It is danceable from start to finish.', 'It got me dancing in the kitchen.'],
  no: ['Not danceable at all.', 'Not music to dance to.', 'This is for listening, not for dancing.', 'Nobody is going to dance to this, and that is fine.'],
} as const;

const COMPARE: Readonly<Record<string, readonly string[]>> = {
  blues: ['like a lost Chess Records session', 'like a Saturday night in a Mississippi juke joint', 'like something Muddy Waters would nod along to'],
  classical: ['like a conservatory recital', 'like a Sunday matinee at the symphony', 'like the soundtrack to a period drama'],
  country: ['like an old Grand Ole Opry broadcast', 'like a Saturday night at a Texas dance hall', 'like a long drive through farm country'],
  disco: ['like a night at Studio 54', 'like a roller rink in 1978', 'like the B-side of a Bee Gees single'],
  hiphop: ['like a golden-era mixtape', 'like a late-nineties block party', 'like something blasting out of a car with the windows down'],
  jazz: ['like a late set at the Village Vanguard', 'like an old Blue Note pressing', 'like a hotel bar at two in the morning'],
  metal: ['like a festival main stage at full volume', 'like a thunderstorm in a steel mill', 'like the soundtrack to a very bad day'],
  pop: ['like something off a summer radio playlist', 'like a teen movie soundtrack', 'like the songs stuck in your head at the supermarket'],
  reggae: ['like a sound system in Kingston', 'like a beach bar at sunset', 'like a dub plate from a Jamaican studio'],
  rock: ['like a sweaty club gig in the seventies', 'like a road trip with the windows down', 'like a garage band that got very, very good'],
};

const INSTR: Readonly<Record<InstrumentName, readonly string[]>> = {
  acousticGuitar: ['fingerpicked acoustic guitar', 'a strummed six-string', 'bright steel-string strumming', 'the acoustic guitar'],
  cleanGuitar: ['clean electric guitar', 'twangy guitar licks', 'a chiming Telecaster', 'jangly electric guitar'],
  distGuitar: ['fuzzed-out guitars', 'overdriven guitar riffs', 'a wall of distorted guitar', 'crunchy amplified guitars', 'searing lead guitar'],
  piano: ['the piano', 'rolling piano', 'tinkling ivories', 'a grand piano', 'two-handed piano'],
  epiano: ['a mellow Rhodes', 'electric piano chords', 'warm Wurlitzer-like keys'],
  organ: ['a Hammond organ', 'swirling organ', 'churchy organ swells', 'the B-3'],
  brass: ['a horn section', 'punchy trumpets', 'bright brass stabs', 'the horns'],
  sax: ['a breathy saxophone', 'honking tenor sax', 'the sax'],
  strings: ['lush strings', 'a string section', 'sweeping violins', 'a string quartet'],
  fiddle: ['a sawing fiddle', 'the solo violin', 'a lonesome fiddle'],
  pad: ['washes of synthesizer', 'ambient synth pads', 'a shimmering synth bed'],
  synthLead: ['a squelchy synth lead', 'bleeping synthesizers', 'an analog synth melody'],
  flute: ['an airy flute', 'fluttering woodwinds', 'the flute'],
  vocal: ['a soulful singer', 'the vocals', 'a plaintive voice', 'soaring vocals', "a crooner's baritone"],
  rapVocal: ['rapid-fire rhymes', "the MC's flow", 'spoken-word verses', 'a rapper trading bars with the beat'],
  electricBass: ['a thumping bass line', 'the electric bass', 'a rubbery bass groove'],
  uprightBass: ['a walking upright bass', 'the double bass', 'plucked acoustic bass'],
  synthBass: ['a synth bass line', 'a buzzing synthesized bass', 'pulsing synth bass'],
  sub808: ['booming 808s', 'sub-bass that rattles the trunk', 'deep 808 subs'],
  bowedBass: ['bowed cellos and basses', 'the low strings', 'a cello section'],
};

const KIT: Readonly<Record<KitName, readonly string[]>> = {
  acoustic: ['the drummer', 'crisp live drumming', 'a tight backbeat'],
  brush: ['brushed snare', 'soft brushwork on the drums', 'a drummer playing with brushes'],
  machine: ['a drum machine', 'programmed beats', 'crisp machine claps and hi-hats'],
  heavy: ['thunderous double-kick drumming', 'pummelling drums', 'a drummer who hits very hard'],
};

const TEMPO: Readonly<Record<'slow' | 'medium' | 'fast', { adj: readonly string[]; extra: readonly string[] }>> = {
  slow: { adj: ['slow', 'languid', 'unhurried', 'slow-burning', 'ballad-like', 'lazy', 'leisurely'], extra: ['perfect for a rainy afternoon', 'nothing here is in a hurry', 'it takes its sweet time'] },
  medium: { adj: ['medium-paced', 'mid-tempo', 'steady', 'easygoing', 'moderate', 'loping'], extra: ['never rushed, never dragging', 'a comfortable walking pace', 'right in the pocket'] },
  fast: { adj: ['fast', 'breakneck', 'up-tempo', 'frantic', 'racing', 'high-octane', 'blistering'], extra: ["you'll be out of breath by the end", 'the band barely pauses for air', 'it barrels along'] },
};

const MOOD = {
  brightUp: ['happy', 'joyous', 'euphoric', 'exuberant', 'feel-good', 'uplifting', 'celebratory'],
  brightDown: ['happy', 'warm', 'serene', 'content', 'gentle', 'peaceful', 'tender'],
  darkDown: ['sad', 'melancholy', 'wistful', 'mournful', 'bittersweet', 'somber', 'lonely'],
  darkUp: ['aggressive', 'menacing', 'angry', 'tense', 'restless', 'furious'],
  neutral: ['balanced', 'even-keeled', 'pleasant', 'understated'],
} as const;

const ASIDES = [
  'Shipping was quick and the CD arrived in perfect condition.',
  'I bought this as a gift for my dad.',
  'The cover art is a bit bland, honestly.',
  'The liner notes have some interesting history.',
  'My copy came with a bonus sticker.',
  'I first heard one of these songs in a coffee shop.',
  'The price was fair.',
  'Not sure why it took me so long to write this review.',
  'The packaging is cardboard, which I appreciate.',
  'I mostly listen to it while driving to work.',
  'My cat seems to like it too.',
  'The case was cracked when it arrived, but the disc was fine.',
  'I ended up ordering a second copy for my sister.',
];

const OPENERS = [
  'I picked this up on a whim.',
  "I've been living with this one for a few weeks now.",
  'New one from {artist}: {title}.',
  'This is the first {artist} record I have owned.',
  'Where do I start with this one?',
  'After hearing a track on the radio I ordered the whole album.',
  'A friend recommended {title} to me.',
  '{title} has been on repeat in my house.',
];

const VERDICT: Readonly<Record<number, readonly string[]>> = {
  5: ['An absolute must-own.', 'Five stars, no question.', 'One of the best records in my collection.', 'Highly recommended.'],
  4: ['Very good, if not quite perfect.', 'Four stars.', 'Well worth the money.', 'A few weaker tracks, but mostly excellent.'],
  3: ["Decent, but it didn't grab me.", 'Three stars: fine background music.', 'Solid if unremarkable.', 'Some highlights, some filler.'],
  2: ['I wanted to like this more.', 'Mostly forgettable.', 'Two stars; it gets repetitive.', 'Disappointing after all the hype.'],
  1: ['Not for me at all.', 'I returned it after one listen.', 'One star.', 'Hard to sit through.'],
};

const SUMMARY: Readonly<Record<number, readonly string[]>> = {
  5: ['Wonderful', 'A masterpiece', 'Love it', 'Essential'],
  4: ['Really good', 'Great listening', 'Recommended', 'Nearly there'],
  3: ['OK', 'Not bad', 'Mixed bag', 'Fine'],
  2: ['Meh', 'Underwhelming', 'Not great', 'Expected more'],
  1: ['Avoid', 'Terrible', 'Not for me', 'Skip it'],
};

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "a tense" / "an unhurried": the article that goes before `word`. */
function an(word: string): string {
  return `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? `{${k}}`);
}

function moodWords(f: AlbumFacts): readonly string[] {
  if (f.valence > 0.3 && f.arousal > 0.3) return MOOD.brightUp;
  if (f.valence > 0.3 && f.arousal < -0.3) return MOOD.brightDown;
  if (f.valence < -0.3 && f.arousal < -0.3) return MOOD.darkDown;
  if (f.valence < -0.3 && f.arousal > 0.3) return MOOD.darkUp;
  if (f.valence > 0.5) return MOOD.brightDown;
  if (f.valence < -0.5) return MOOD.darkDown;
  if (f.arousal > 0.5) return ['energetic', 'lively', 'punchy'];
  if (f.arousal < -0.5) return ['calm', 'hushed', 'quiet'];
  return MOOD.neutral;
}

function genreSentence(rng: Rng, genre: string, secondary: boolean): string {
  const desc = rng.pick(STYLE[genre] ?? ['music that is hard to pin down']);
  const label = rng.pick(LABEL[genre] ?? [genre]);
  if (secondary) {
    return rng.pick([
      `There is also a streak of ${desc} running through a couple of songs.`,
      `One or two cuts flirt with ${desc}.`,
      `A few tracks detour into ${desc}, which keeps things interesting.`,
    ]);
  }
  const templates = [
    `This is ${desc} through and through.`,
    `Expect ${desc}, done with real conviction.`,
    `The record is built on ${desc}.`,
    `It is full of ${desc}.`,
    `What you get is ${desc}.`,
    `Every track is steeped in ${desc}.`,
    `Think ${desc}.`,
  ];
  if (rng.bool(0.3)) templates.push(`Fans of ${label} will feel right at home with ${desc}.`, `If you grew up on ${label}, this scratches the itch: ${desc}.`);
  return rng.pick(templates);
}

/** The genre by name ("Great jazz album."); the plain name most often, since that is what people type. */
function namedGenreSentence(rng: Rng, genre: string): string {
  const names = (LABEL[genre] ?? [genre]).filter((n) => !n.startsWith('the '));
  const name = rng.bool(0.7) ? (names[0] as string) : rng.pick(names);
  return cap(fill(rng.pick(NAMED), { g: name }).replace(/^A ([aeiou])/i, 'An $1'));
}

function instrumentSentences(rng: Rng, f: AlbumFacts): string[] {
  const names = f.instruments.map((i) => rng.pick(INSTR[i]));
  if (f.kit && rng.bool(0.6)) names.splice(rng.int(0, names.length), 0, rng.pick(KIT[f.kit]));
  const out: string[] = [];
  const [a, b, c] = names;
  if (a && b) {
    out.push(rng.pick([
      `${cap(a)} carries most of the tunes, with ${b} filling in underneath.`,
      `The arrangements put ${a} front and centre, backed by ${b}.`,
      `I especially liked ${a}, and ${b} is a nice touch.`,
      `${cap(a)} and ${b} trade phrases throughout.`,
      `The sound is built around ${a} and ${b}.`,
    ]));
  } else if (a) {
    out.push(rng.pick([`${cap(a)} sounds gorgeous.`, `The mix is anchored by ${a}.`, `It is mostly ${a}, and that is enough.`]));
  }
  if (c && rng.bool(0.7)) out.push(rng.pick([`Underneath it all, there is ${c}.`, `Listen for ${c} on the second track.`, `${cap(c)} gets a moment in the spotlight too.`]));
  if (!f.kit && rng.bool(0.6)) out.push(rng.pick(['There are no drums to speak of, and it does not need them.', 'Without a drummer, the songs breathe.']));
  return out;
}

function tempoSentence(rng: Rng, f: AlbumFacts): string {
  const t = TEMPO[f.tempoClass];
  const adj = rng.pick(t.adj);
  let s = rng.pick([
    `The tempos are mostly ${adj}.`,
    `It is ${an(adj)} record: ${rng.pick(t.extra)}.`,
    `Most songs move at ${an(adj)} clip.`,
    `The pace is ${adj} throughout, ${rng.pick(t.extra)}.`,
  ]);
  if (f.swing && rng.bool(0.7)) s += ' ' + rng.pick(['Everything swings hard.', 'There is a lovely shuffle feel to the rhythm.', 'The rhythm section has a loose, swinging lilt.']);
  if (f.triple && rng.bool(0.7)) s += ' ' + rng.pick(['Several tunes are in waltz time.', 'A lot of it sways in three.']);
  return s;
}

function moodSentence(rng: Rng, f: AlbumFacts): string {
  const m = rng.pick(moodWords(f));
  const extra = f.arousal > 0.4 ? rng.pick(['it is loud and relentless', 'energetic from the first bar', 'it never lets up']) :
    f.arousal < -0.4 ? rng.pick(['it never raises its voice', 'hushed and intimate', 'quiet enough for late at night']) :
      f.valence > 0.4 ? rng.pick(['it radiates optimism', 'a smile from start to finish']) :
        f.valence < -0.4 ? rng.pick(['heartache hangs over every song', 'there is a cloud over the whole thing']) : 'nothing too extreme';
  return rng.pick([
    `The overall mood is ${m}.`,
    `It left me feeling ${m}.`,
    `There is ${an(m)} quality to the whole album; ${extra}.`,
    `These songs feel ${m}, ${extra}.`,
  ]);
}

function productionSentence(rng: Rng, f: AlbumFacts): string | undefined {
  const options: string[] = [];
  if (f.distortion) options.push('The guitars are saturated and the whole mix is pushed into the red.', 'Everything is loud, distorted and compressed to the hilt.');
  if (f.electronic) options.push('The production is heavily programmed, all synths and machines.', 'Plenty of electronic gloss on these tracks.');
  if (f.acoustic) options.push('It all sounds played live by real people in a room, no electronics.', 'A natural, unplugged sound throughout.');
  if (f.reverb) options.push('Drenched in reverb, it sounds like it was recorded in a cathedral.', 'There is a big, roomy echo on everything.');
  if (f.lofi) options.push('A dusty, lo-fi hiss gives it an old-record feel.', 'The recording is murky and a bit muffled, which adds charm.');
  if (options.length === 0) options.push('The production is clean and crisp.', 'Nicely recorded, nothing fancy.');
  return rng.pick(options);
}

/** One review of an album; `rating` 1..5 sets the opinion. */
export function writeReview(rng: Rng, f: AlbumFacts, rating: number, reviewerID: string): Review {
  const vars = { artist: f.artist, title: f.title };
  const middle: string[] = [];
  const primary = f.genres[0] as string;
  if (rng.bool(0.9)) middle.push(genreSentence(rng, primary, false));
  for (const g of f.genres.slice(1)) if (rng.bool(0.6)) middle.push(genreSentence(rng, g, true));
  middle.push(...instrumentSentences(rng, f).filter(() => rng.bool(0.85)));
  if (rng.bool(0.75)) middle.push(tempoSentence(rng, f));
  if (rng.bool(0.85)) middle.push(moodSentence(rng, f));
  if (rng.bool(0.6)) middle.push(productionSentence(rng, f) as string);
  if (rng.bool(0.75)) middle.push(namedGenreSentence(rng, primary));
  if (rng.bool(0.35)) middle.push(rng.pick(f.danceable ? DANCE.yes : DANCE.no));
  if (rng.bool(0.4)) middle.push(`${rng.pick(['It sounds', 'At times it feels', 'It comes across'])} ${rng.pick(COMPARE[primary] ?? ['like nothing else'])}.`);
  rng.shuffle(middle);
  const asides = ASIDES.filter(() => rng.bool(0.08)).slice(0, 2);
  for (const a of asides) middle.splice(rng.int(0, middle.length), 0, a);
  const sentences = [
    ...(rng.bool(0.8) ? [fill(rng.pick(OPENERS), vars)] : []),
    ...middle,
    ...(rng.bool(0.9) ? [rng.pick(VERDICT[rating] ?? VERDICT[3] as readonly string[])] : []),
  ];
  const mood = rng.pick(moodWords(f));
  const summary = rng.bool(0.5) ? rng.pick(SUMMARY[rating] as readonly string[]) : `${cap(mood)} ${rng.pick(['stuff', 'listening', 'record', 'album', 'songs'])}`;
  return { reviewerID, overall: rating, summary, reviewText: sentences.join(' ') };
}
