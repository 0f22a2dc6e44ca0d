// Keyboard shortcuts in the call (docs/browser.md, "Keyboard shortcuts"):
// one key each for the microphone, the camera, the hand and the chat, and
// ? for the list of them, in a dialog that the Keyboard shortcuts button
// (in the Device settings dialog) opens too. A key does what pressing its button does. None fires while
// the person types (in the chat or any other field), with Ctrl, Alt or
// Meta held (the browser's own), or while a dialog is open.

const $ = (id) => document.getElementById(id);

// key, the control it stands for, and what it is for.
export const keys = [
  ['m', 'mute', 'Mute or unmute your microphone'],
  ['v', 'camera', 'Turn your camera off or on'],
  ['h', 'hand', 'Raise or lower your hand'],
  ['c', 'tab-chat', 'Open the chat and write'],
  ['?', 'shortcuts', 'Show these shortcuts'],
];

const typing = (el) => !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));

// shortcuts listens for the keys; chat() opens the chat and puts the
// cursor in its line.
export function shortcuts({ chat }) {
  const dialog = $('shortcuts-dialog');
  $('shortcut-list').replaceChildren(...keys.flatMap(([key, , what]) => {
    const dt = document.createElement('dt');
    const kbd = document.createElement('kbd');
    kbd.textContent = key.toUpperCase();
    dt.append(kbd);
    const dd = document.createElement('dd');
    dd.textContent = what;
    return [dt, dd];
  }));
  // Screen readers announce a control's key.
  for (const [key, id] of keys) $(id).setAttribute('aria-keyshortcuts', key.toUpperCase());

  let opener = null;
  const help = () => {
    // From the Device settings dialog: that one closes first, and focus
    // goes back to its button.
    document.activeElement?.closest('dialog')?.close();
    opener = document.activeElement;
    dialog.showModal();
  };
  // Focus goes back where it was when the dialog opened.
  dialog.addEventListener('close', () => opener?.focus());
  $('shortcuts').addEventListener('click', help);

  document.addEventListener('keydown', (e) => {
    if (document.body.dataset.state !== 'joined' || e.ctrlKey || e.altKey || e.metaKey || e.repeat) return;
    if (typing(e.target) || document.querySelector('dialog[open]')) return;
    const hit = keys.find(([key]) => key === e.key.toLowerCase());
    if (!hit) return;
    e.preventDefault();
    const [, id] = hit;
    if (id === 'shortcuts') help();
    else if (id === 'tab-chat') chat();
    else $(id).click();
  });
}
