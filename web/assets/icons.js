// State at a glance: a muted microphone, a camera turned off and a raised
// hand as inline SVG (no emoji font needed, nothing fetched: the CSP allows
// scripts and images from the site only), each with its words for screen
// readers. The tiles and the people list show the same three.

const ns = 'http://www.w3.org/2000/svg';

// Each icon's strokes on a 24 × 24 grid; the stylesheet draws them (.icon).
const shapes = {
  muted: ['M12 2a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z', 'M19 10v1a7 7 0 0 1-14 0v-1', 'M12 18v4', 'M3 3l18 18'],
  cameraOff: ['M3 7h11a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1z', 'M15 10.5l6-3.5v10l-6-3.5', 'M2 3l19 19'],
  hand: ['M8 13V5.5a1.5 1.5 0 0 1 3 0V11', 'M11 10.5V4a1.5 1.5 0 0 1 3 0v6.5', 'M14 10.5V5.5a1.5 1.5 0 0 1 3 0v7',
    'M17 9.5a1.5 1.5 0 0 1 3 0V15a7 7 0 0 1-7 7h-1a7 7 0 0 1-5.6-2.8L3.3 15a1.5 1.5 0 0 1 2.4-1.8L8 16'],
};

const labels = { muted: 'Microphone off', cameraOff: 'Camera off', hand: 'Hand raised' };

function icon(what) {
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${what}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', labels[what]);
  svg.dataset.state = what;
  for (const d of shapes[what]) {
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

// stateIcons makes the three icons, hidden until showStates shows them.
export function stateIcons() {
  const span = document.createElement('span');
  span.className = 'states';
  for (const what of Object.keys(shapes)) {
    const svg = icon(what);
    svg.setAttribute('hidden', '');
    span.append(svg);
  }
  return span;
}

// showStates shows the icons of what a person said of themselves: muted,
// cameraOff, hand (a PeerInfo, or our own state).
export function showStates(span, p) {
  for (const svg of span.children) svg.toggleAttribute('hidden', !p[svg.dataset.state]);
}
