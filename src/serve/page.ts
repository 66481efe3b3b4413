/**
 * The web page, embedded as a string so `npm run build` needs no asset-copy step and the server
 * is one module. Plain DOM code, no framework; every value from the API is inserted with
 * textContent (never as HTML), so track ids and tags cannot inject markup.
 */
import { formatBytes } from './http.js';
import { CHAT_HTML, CHAT_SCRIPT, CHAT_STYLE } from './chatPage.js';

const STYLE = `
:root { --bg: #f6f5f2; --card: #fff; --ink: #1d1f24; --muted: #6b6f78; --line: #e4e2dc; --accent: #5b4cdb; --accent-soft: #ece9ff; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: linear-gradient(120deg, #241d5c, #5b4cdb); color: #fff; padding: 28px 24px 64px; }
header .wrap { max-width: 980px; margin: 0 auto; }
header h1 { margin: 0; font-size: 26px; letter-spacing: .3px; }
header p { margin: 6px 0 0; opacity: .85; }
main { max-width: 980px; margin: -44px auto 40px; padding: 0 16px; display: grid; gap: 18px; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 14px; padding: 18px 20px; box-shadow: 0 6px 24px rgba(20, 16, 60, .06); }
.panel h2 { margin: 0 0 12px; font-size: 16px; }
form.search { display: flex; gap: 8px; }
input[type=search], input[type=text] { flex: 1; min-width: 0; padding: 11px 14px; font-size: 16px; border: 1px solid var(--line); border-radius: 10px; outline: none; }
input[type=search]:focus, input[type=text]:focus { border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-soft); }
select { padding: 0 10px; border: 1px solid var(--line); border-radius: 10px; background: #fff; }
button { padding: 10px 18px; font-size: 15px; border: 0; border-radius: 10px; background: var(--accent); color: #fff; cursor: pointer; }
button.ghost { background: var(--accent-soft); color: var(--accent); padding: 6px 12px; font-size: 13px; }
button:disabled { opacity: .55; cursor: progress; }
.examples { margin-top: 8px; color: var(--muted); font-size: 13px; }
.examples a { color: var(--accent); margin-right: 10px; cursor: pointer; text-decoration: none; }
.status { color: var(--muted); font-size: 13px; min-height: 18px; margin: 10px 0 0; }
.error { background: #fef3f2; color: var(--bad); border: 1px solid #fecdca; border-radius: 10px; padding: 10px 14px; }
.error[hidden] { display: none; }
ol.results { list-style: none; margin: 12px 0 0; padding: 0; display: grid; gap: 10px; }
.result { display: grid; grid-template-columns: 34px 1fr auto; gap: 6px 14px; align-items: center; padding: 12px 14px; border: 1px solid var(--line); border-radius: 12px; }
.result .rank { font-weight: 600; color: var(--muted); text-align: right; }
.result .title { font-weight: 600; word-break: break-all; }
.result .meta { color: var(--muted); font-size: 13px; }
.result audio { grid-column: 2 / 4; width: 100%; height: 34px; }
.score { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--muted); }
.bar { width: 70px; height: 6px; border-radius: 3px; background: var(--accent-soft); overflow: hidden; display: inline-block; }
.bar i { display: block; height: 100%; background: var(--accent); }
.chip { display: inline-block; padding: 1px 8px; margin: 2px 4px 0 0; border-radius: 99px; background: var(--accent-soft); color: var(--accent); font-size: 12px; }
.chip.genre { background: #e7f6ec; color: #1a7f37; }
.drop { border: 2px dashed var(--line); border-radius: 12px; padding: 22px; text-align: center; color: var(--muted); cursor: pointer; }
.drop.over { border-color: var(--accent); background: var(--accent-soft); }
.drop input { display: none; }
.clip { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; margin-top: 14px; }
.clip[hidden] { display: none; }
.clip h3 { margin: 0 0 8px; font-size: 14px; }
.tag-row { display: grid; grid-template-columns: 110px 1fr 48px; gap: 8px; align-items: center; font-size: 14px; margin: 4px 0; }
.tag-row .bar { width: 100%; height: 8px; }
.tag-row .pct { text-align: right; color: var(--muted); font-variant-numeric: tabular-nums; }
form.ask { display: flex; gap: 8px; margin-top: 12px; }
.answer { margin-top: 10px; font-size: 15px; }
.answer b { color: var(--accent); }
@media (max-width: 720px) { .clip { grid-template-columns: 1fr; } form.search { flex-wrap: wrap; } }
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const errorBox = $('#error');
function showError(msg) { errorBox.textContent = msg; errorBox.hidden = !msg; }
async function call(url, init) {
  const r = await fetch(url, init);
  let body;
  try { body = await r.json(); } catch { body = { error: 'the server sent an unreadable reply (' + r.status + ')' }; }
  if (!r.ok) throw new Error(body.error || ('request failed (' + r.status + ')'));
  return body;
}
function bar(frac) { const b = el('span', 'bar'); const i = el('i'); i.style.width = Math.max(0, Math.min(1, frac)) * 100 + '%'; b.append(i); return b; }
/** A list of tracks with players; each gets one button (default: "similar"). */
function renderHits(list, hits, action) {
  const act = action || { label: 'similar', title: 'tracks that sound like this one', run: (h) => similar(h.id), empty: 'No tracks in the catalogue yet.' };
  list.replaceChildren();
  if (hits.length === 0) { if (act.empty) list.append(el('li', 'meta', act.empty)); return; }
  hits.forEach((h, i) => {
    const li = el('li', 'result');
    li.dataset.id = h.id;
    li.append(el('span', 'rank', String(i + 1)));
    const info = el('div');
    info.append(el('div', 'title', h.id));
    const meta = el('div', 'meta');
    if (h.genre) meta.append(el('span', 'chip genre', h.genre));
    for (const t of h.tags.slice(0, 6)) meta.append(el('span', 'chip', t.replace(/_/g, ' ')));
    meta.append(el('span', null, ' ' + h.durationS.toFixed(1) + ' s'));
    info.append(meta);
    li.append(info);
    const side = el('div');
    const score = el('span', 'score');
    score.append(bar((h.score + 1) / 2), document.createTextNode(h.score.toFixed(3)));
    const more = el('button', 'ghost', act.label);
    more.type = 'button';
    more.title = act.title;
    more.addEventListener('click', () => act.run(h, i));
    side.append(score, document.createTextNode(' '), more);
    li.append(side);
    const audio = el('audio');
    audio.controls = true; audio.preload = 'none'; audio.src = h.audio;
    li.append(audio);
    list.append(li);
  });
}
async function search(q) {
  showError('');
  const k = $('#k').value;
  $('#search-status').textContent = 'Searching…';
  $('#search-btn').disabled = true;
  try {
    const r = await call('/api/search?q=' + encodeURIComponent(q) + '&k=' + k);
    $('#search-status').textContent = r.hits.length + ' tracks for “' + r.query + '”' + unknownNote(r.unknownWords);
    renderHits($('#results'), r.hits);
  } catch (e) { showError(e.message); $('#search-status').textContent = ''; }
  finally { $('#search-btn').disabled = false; }
}
async function similar(id) {
  showError('');
  $('#search-status').textContent = 'Finding tracks like ' + id + '…';
  try {
    const r = await call('/api/similar?id=' + encodeURIComponent(id) + '&k=' + $('#k').value);
    $('#search-status').textContent = 'Tracks that sound like ' + id;
    renderHits($('#results'), r.hits);
    $('#results').scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (e) { showError(e.message); }
}
let clip = null;
function unknownNote(words) { return words && words.length ? ' · not in the model’s vocabulary (ignored): ' + words.join(', ') : ''; }
function renderLabels(box, labels) {
  box.replaceChildren();
  for (const l of labels.slice(0, 10)) {
    const row = el('div', 'tag-row');
    row.dataset.label = l.label;
    row.append(el('span', null, l.label.replace(/_/g, ' ')), bar(l.score), el('span', 'pct', (l.score * 100).toFixed(0) + '%'));
    box.append(row);
  }
}
async function analyse(file) {
  showError('');
  if (file.size > MAX_UPLOAD) { showError('That file is ' + (file.size / 1048576).toFixed(1) + ' MB; the limit is ' + MAX_UPLOAD_TEXT + '.'); return; }
  $('#upload-status').textContent = 'Listening to ' + file.name + '…';
  try {
    const r = await call('/api/upload?k=5', { method: 'POST', body: file, headers: { 'content-type': file.type || 'application/octet-stream' } });
    clip = file;
    $('#upload-status').textContent = file.name + ' · ' + r.durationS.toFixed(1) + ' s' + unknownNote(r.unknownWords);
    const player = $('#clip-audio');
    if (player.src) URL.revokeObjectURL(player.src);
    player.src = URL.createObjectURL(file);
    renderLabels($('#tags'), r.labels);
    renderHits($('#neighbours'), r.neighbours);
    $('#answer').textContent = '';
    $('#clip').hidden = false;
  } catch (e) { showError(e.message); $('#upload-status').textContent = ''; }
}
async function ask(q) {
  if (!clip) return;
  showError('');
  $('#answer').textContent = 'Thinking…';
  try {
    const r = await call('/api/ask?q=' + encodeURIComponent(q), { method: 'POST', body: clip });
    const a = $('#answer');
    a.replaceChildren(document.createTextNode('Answer: '), el('b', null, r.answer), document.createTextNode(' (' + (r.confidence * 100).toFixed(0) + '% · ' + r.candidates.slice(0, 4).map((c) => c.label + ' ' + (c.score * 100).toFixed(0) + '%').join(', ') + ')' + unknownNote(r.unknownWords)));
  } catch (e) { showError(e.message); $('#answer').textContent = ''; }
}
$('#search-form').addEventListener('submit', (ev) => { ev.preventDefault(); const q = $('#q').value.trim(); if (!q) { showError('Type a description first, e.g. “slow sad piano ballad”.'); return; } search(q); });
for (const a of document.querySelectorAll('.examples a')) a.addEventListener('click', () => { $('#q').value = a.textContent; search(a.textContent); });
const drop = $('#drop');
drop.addEventListener('click', () => $('#file').click());
drop.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); $('#file').click(); } });
drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (ev) => { ev.preventDefault(); drop.classList.remove('over'); const f = ev.dataTransfer.files[0]; if (f) analyse(f); });
$('#file').addEventListener('change', () => { const f = $('#file').files[0]; if (f) analyse(f); });
$('#ask-form').addEventListener('submit', (ev) => { ev.preventDefault(); const q = $('#question').value.trim(); if (q) ask(q); });
call('/api/info').then((i) => { $('#info').textContent = i.tracks + ' tracks in the catalogue'; }).catch(() => {});
`;

export function pageHtml(opts: { maxUploadBytes: number }): string {
  const limit = formatBytes(opts.maxUploadBytes);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>musicbert · search music with words</title>
<style>${STYLE}${CHAT_STYLE}</style>
</head>
<body>
<header><div class="wrap">
  <h1>musicbert</h1>
  <p>Music and text in one space: describe a sound, or play a clip. <span id="info"></span></p>
</div></header>
<main>
  <div id="error" class="error" role="alert" hidden></div>
  <section class="panel" aria-labelledby="search-h">
    <h2 id="search-h">Search the catalogue</h2>
    <form id="search-form" class="search" role="search">
      <input id="q" type="search" name="q" placeholder="slow sad piano ballad" autocomplete="off" aria-label="Describe the music" maxlength="1000" autofocus>
      <select id="k" aria-label="Number of results"><option>5</option><option selected>10</option><option>20</option></select>
      <button id="search-btn" type="submit">Search</button>
    </form>
    <div class="examples">Try: <a>slow sad piano ballad</a><a>fast energetic rock with distorted guitar</a><a>calm acoustic folk</a></div>
    <p id="search-status" class="status" aria-live="polite"></p>
    <ol id="results" class="results"></ol>
  </section>${CHAT_HTML}
  <section class="panel" aria-labelledby="upload-h">
    <h2 id="upload-h">What does this clip sound like?</h2>
    <div id="drop" class="drop" tabindex="0" role="button" aria-label="Upload an audio clip">
      Drop an audio clip here or click to choose one (WAV, MP3, FLAC or Ogg; up to ${limit})
      <input id="file" type="file" accept="audio/*,.wav,.mp3,.flac,.ogg">
    </div>
    <p id="upload-status" class="status" aria-live="polite"></p>
    <div id="clip" class="clip" hidden>
      <div>
        <h3>Tags</h3>
        <audio id="clip-audio" controls></audio>
        <div id="tags"></div>
        <form id="ask-form" class="ask">
          <input id="question" type="text" placeholder="Ask: is this danceable? what instruments play?" aria-label="Ask a question about the clip" maxlength="1000">
          <button type="submit">Ask</button>
        </form>
        <div id="answer" class="answer" aria-live="polite"></div>
      </div>
      <div>
        <h3>Closest tracks in the catalogue</h3>
        <ol id="neighbours" class="results"></ol>
      </div>
    </div>
  </section>
</main>
<script>
const MAX_UPLOAD = ${opts.maxUploadBytes};
const MAX_UPLOAD_TEXT = ${JSON.stringify(limit)};
${SCRIPT}${CHAT_SCRIPT}
</script>
</body>
</html>
`;
}
