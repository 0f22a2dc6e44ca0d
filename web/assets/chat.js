// The call's chat: the log of what everyone wrote, shown as text, and the
// form that sends a message to everyone.

const $ = (id) => document.getElementById(id);

export class Chat {
  // signal(): the connection now, or null; self(): our PeerInfo.
  constructor({ signal, self }) {
    this.self = self;
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
    for (const c of list) this.show(c);
  }

  // show adds a chat message to the log, as text: whatever it holds is
  // never markup (docs/browser.md, data-chat).
  show(m) {
    const self = this.self();
    const li = document.createElement('li');
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = m.peer?.id === self?.id ? 'You' : m.peer?.name || 'Guest';
    const text = document.createElement('span');
    text.dataset.chat = '';
    text.textContent = m.text;
    li.append(who, text);
    $('chat').append(li);
    li.scrollIntoView({ block: 'nearest' });
  }
}
