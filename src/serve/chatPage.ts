/**
 * The chat panel of the web page (style, markup, script), kept apart from page.ts so the panel is
 * one self-contained piece: it talks only to POST /api/chat and keeps its session id in memory.
 * Values from the API go in with textContent, never as HTML. The script relies on page.ts's small
 * helpers `el`, `call`, `showError` and `renderHits`.
 */

export const CHAT_STYLE = `
.chat-log { list-style: none; margin: 0 0 10px; padding: 0; display: grid; gap: 8px; max-height: 320px; overflow-y: auto; }
.chat-log li { display: grid; gap: 3px; }
.chat-log .you { justify-self: end; background: var(--accent); color: #fff; padding: 6px 12px; border-radius: 14px 14px 4px 14px; max-width: 80%; }
.chat-log .bot { justify-self: start; background: var(--accent-soft); color: var(--ink); padding: 6px 12px; border-radius: 14px 14px 14px 4px; max-width: 90%; font-size: 14px; }
.chat-log .bot b { color: var(--accent); }
.chat-log .bot .note { display: block; color: var(--muted); font-size: 12px; }
form.chat { display: flex; gap: 8px; }
.chat-examples { margin-top: 8px; color: var(--muted); font-size: 13px; }
.chat-examples a { color: var(--accent); margin-right: 10px; cursor: pointer; }
.why { margin: 8px 0 0; font-size: 13px; color: var(--muted); }
.why .term { display: inline-block; margin: 2px 6px 0 0; padding: 1px 8px; border-radius: 99px; border: 1px solid var(--line); color: var(--ink); }
.why .term.neg { border-color: #fecdca; color: var(--bad); }
.result.focus { border-color: var(--accent); box-shadow: 0 0 0 2px var(--accent-soft); }
`;

export const CHAT_HTML = `
  <section class="panel" aria-labelledby="chat-h">
    <h2 id="chat-h">Talk about music</h2>
    <ol id="chat-log" class="chat-log" aria-live="polite"></ol>
    <form id="chat-form" class="chat">
      <input id="chat-input" type="text" placeholder="slow sad piano ballad · then: slower, with piano, not metal, like this but calmer, is it danceable?" aria-label="Say something about the music" maxlength="500" autocomplete="off">
      <button id="chat-send" type="submit">Send</button>
      <button id="chat-back" type="button" class="ghost">back</button>
    </form>
    <div class="chat-examples">Then try: <a>slower</a><a>with piano</a><a>not metal</a><a>like this but calmer</a><a>which of these is the fastest?</a></div>
    <div id="chat-why" class="why"></div>
    <ol id="chat-results" class="results"></ol>
  </section>`;

export const CHAT_SCRIPT = `
let chatSession = null;
const ORD = ['', '1st', '2nd', '3rd'];
function chatOrdinal(n) { return ORD[n] || (n + 'th'); }
function chatSummary(r) {
  const box = el('span');
  if (r.answer) box.append(document.createTextNode('Answer: '), el('b', null, r.answer.answer), document.createTextNode(' (' + (r.answer.confidence * 100).toFixed(0) + '% · ' + r.answer.candidates.slice(0, 4).map((c) => c.label + ' ' + (c.score * 100).toFixed(0) + '%').join(', ') + ')'));
  else if (r.listAnswer) box.append(document.createTextNode('The ' + chatOrdinal(r.listAnswer.rank) + ' one: '), el('b', null, r.listAnswer.answer), document.createTextNode(' (by ' + r.listAnswer.criterion + ')'));
  else if (r.kind === 'focus') box.append(document.createTextNode('Now on '), el('b', null, r.focus ? r.focus.id : '—'));
  else if (r.kind === 'back') box.append(document.createTextNode('Went back one turn.'));
  else if (r.kind === 'reset') box.append(document.createTextNode('Started over.'));
  else box.append(document.createTextNode(r.results.length + ' tracks' + (r.explanation.operations.length ? ': ' + r.explanation.operations.join('; ') : '')));
  const notes = [];
  if (r.unknownWords.length) notes.push('not in the model’s vocabulary: ' + r.unknownWords.join(', '));
  for (const n of r.notes) notes.push(n);
  for (const n of notes) box.append(el('span', 'note', n));
  return box;
}
function chatWhy(r) {
  const why = $('#chat-why');
  why.replaceChildren();
  const e = r.explanation;
  if (e.terms.length) why.append(document.createTextNode('Query: '));
  for (const t of e.terms) {
    const chip = el('span', 'term' + (t.weight < 0 ? ' neg' : ''), (t.weight < 0 ? '−' : '+') + Math.abs(t.weight) + ' × ' + t.label);
    chip.title = 'scale ' + t.scale + (t.prompts.length ? ' · ' + t.prompts.map((p) => (p.sign < 0 ? '− ' : '+ ') + p.text).join(' ') : '');
    why.append(chip);
  }
  for (const l of e.excludedLabels) why.append(el('span', 'term neg', 'not ' + l.label + ' (' + l.tracks + ')'));
}
function chatResults(r) {
  const list = $('#chat-results');
  renderHits(list, r.results, { label: 'like this', title: 'start again from this track', run: (h) => chatSend('like the ' + chatOrdinal(h.rank) + ' one') });
  for (const li of list.children) {
    const h = r.results.find((x) => x.id === li.dataset.id);
    if (!h) continue;
    li.title = 'score per query term: ' + h.contributions.join(', ');
    if (r.focus && r.focus.id === h.id) li.classList.add('focus');
  }
}
async function chatSend(text) {
  showError('');
  const item = el('li');
  item.append(el('span', 'you', text));
  $('#chat-log').append(item);
  $('#chat-send').disabled = true;
  try {
    const body = { text };
    if (chatSession) body.session = chatSession;
    const r = await call('/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    chatSession = r.session;
    const bot = el('span', 'bot');
    bot.dataset.kind = r.kind;
    bot.append(chatSummary(r));
    item.append(bot);
    chatWhy(r);
    chatResults(r);
  } catch (e) {
    item.append(el('span', 'bot', 'Sorry: ' + e.message));
    showError(e.message);
  } finally {
    $('#chat-send').disabled = false;
    item.scrollIntoView({ block: 'nearest' });
  }
}
$('#chat-form').addEventListener('submit', (ev) => { ev.preventDefault(); const t = $('#chat-input').value.trim(); if (!t) { showError('Say something first, e.g. “slow sad piano ballad”.'); return; } $('#chat-input').value = ''; chatSend(t); });
$('#chat-back').addEventListener('click', () => chatSend('back'));
for (const a of document.querySelectorAll('.chat-examples a')) a.addEventListener('click', () => chatSend(a.textContent));
`;
