// The call's chat: the log of what everyone wrote, shown as text with the
// local time of each message, and the form that sends a message to
// everyone. Web addresses become links that open in a new tab; nothing a
// message holds is ever markup.

const $ = (id) => document.getElementById(id);

export class Chat {
  // signal(): the connection now, or null; self(): our PeerInfo.
  constructor({ signal, self }) {
    this.self = self;
    this.unread = 0;
    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const text = $('chat-text').value.trim();
      if (!text || !signal()) return;
      signal().chat(text);
      $('chat-text').value = '';
    });
  }

  // history replaces the log with the messages a welcome carries.
  history(list) {
    $('chat').replaceChildren();
    for (const c of list) this.show(c, true);
  }

  // show adds a chat message to the log: who, when, and its text, whose
  // element (data-chat) holds exactly what was written.
  show(m, old = false) {
    const self = this.self();
    const li = document.createElement('li');
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = m.peer?.id === self?.id ? 'You' : m.peer?.name || 'Guest';
    const at = new Date(m.at || Date.now());
    const time = document.createElement('time');
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const text = document.createElement('span');
    text.dataset.chat = '';
    text.append(...linked(m.text));
    li.append(who, time, text);
    $('chat').append(li);
    li.scrollIntoView({ block: 'nearest' });
    if (!old && $('chat-panel').hidden) this.seen(this.unread + 1);
  }

  // seen counts the messages that came while the chat was not shown, on
  // its tab; 0 when it is.
  seen(unread = 0) {
    this.unread = unread;
    $('chat-unread').textContent = unread ? `${unread} new` : '';
    $('chat-unread').hidden = !unread;
  }
}

// What looks like a web address, up to a space; trailing punctuation is
// the sentence's, not the address's.
const address = /https?:\/\/[^\s]+/gi;
const trailing = /[.,;:!?)\]}'"]+$/;

// linked returns a message's text as text nodes, with http and https
// addresses as links that open in a new tab, telling the site nothing of
// this page (noopener, noreferrer). Any other scheme (javascript:, data:)
// stays text.
function linked(text) {
  const parts = [];
  let from = 0;
  for (const match of text.matchAll(address)) {
    const raw = match[0].replace(trailing, '');
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    parts.push(document.createTextNode(text.slice(from, match.index)));
    const a = document.createElement('a');
    a.href = url.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = raw;
    parts.push(a);
    from = match.index + raw.length;
  }
  parts.push(document.createTextNode(text.slice(from)));
  return parts;
}
