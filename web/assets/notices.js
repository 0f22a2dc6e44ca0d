// Notices: short toasts that go by themselves, and the same words in a
// polite live region for screen readers. The same notice while it shows is
// not shown again, and only a few show at once, so a busy room does not
// bury the call under them.

const shown = 3;     // toasts at once; a newer one pushes out the oldest
const lasts = 6000;  // ms a toast stays
const kept = 5;      // lines the live region keeps

export class Notices {
  // stack: where the toasts go (hidden from screen readers, which hear the
  // log instead); log: the live region.
  constructor({ stack, log }) {
    this.stack = stack;
    this.log = log;
  }

  show(text) {
    const same = [...this.stack.children].find((t) => t.textContent === text);
    if (same) {
      // Repeated while it shows: it stays a little longer, once.
      clearTimeout(same.timer);
      same.timer = setTimeout(() => same.remove(), lasts);
      return;
    }
    const toast = document.createElement('div');
    toast.className = 'toast';
    toast.textContent = text;
    toast.timer = setTimeout(() => toast.remove(), lasts);
    this.stack.append(toast);
    while (this.stack.children.length > shown) {
      clearTimeout(this.stack.firstElementChild.timer);
      this.stack.firstElementChild.remove();
    }
    const line = document.createElement('p');
    line.textContent = text;
    this.log.append(line);
    while (this.log.children.length > kept) this.log.firstElementChild.remove();
  }
}
