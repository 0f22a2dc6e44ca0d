// Tabs (the WAI-ARIA tabs pattern): one panel at a time; Tab reaches the
// chosen tab only, the arrow keys, Home and End move between tabs and
// choose as they go.

export function tabs(list, onSelect) {
  const all = [...list.querySelectorAll('[role=tab]')];
  const select = (tab, focus = false) => {
    for (const t of all) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    onSelect(tab);
  };
  list.addEventListener('click', (e) => {
    const tab = e.target.closest('[role=tab]');
    if (tab) select(tab);
  });
  list.addEventListener('keydown', (e) => {
    const i = all.indexOf(document.activeElement);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: all.length - 1 }[e.key];
    if (i < 0 || to === undefined) return;
    e.preventDefault();
    select(all[(to + all.length) % all.length], true);
  });
  select(all.find((t) => t.getAttribute('aria-selected') === 'true') || all[0]);
}
