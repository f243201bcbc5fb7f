import type { DiagramModel } from './diagram-model';
import { escapeXml, markKinds, messageTypes, svgDiagram, typeClass } from './svg-diagram';

/**
 * The page's script: zoom (wheel, or the buttons) and pan (drag) by moving
 * the SVG's viewBox, a tooltip showing the hovered element's `<title>`, and
 * filters that hide message types, mark kinds or the deliveries. Plain DOM,
 * no library, no network.
 */
const SCRIPT = `
(function () {
  var svg = document.getElementById('lamport-diagram');
  var tip = document.getElementById('tip');
  var full = svg.viewBox.baseVal;
  var view = { x: full.x, y: full.y, w: full.width, h: full.height };
  var home = { x: view.x, y: view.y, w: view.w, h: view.h };
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  function apply() { svg.setAttribute('viewBox', view.x + ' ' + view.y + ' ' + view.w + ' ' + view.h); }
  function point(event) {
    var box = svg.getBoundingClientRect();
    return { x: view.x + (event.clientX - box.left) / box.width * view.w, y: view.y + (event.clientY - box.top) / box.height * view.h };
  }
  function zoom(factor, at) {
    var w = Math.max(20, Math.min(home.w * 4, view.w * factor));
    var h = w * home.h / home.w;
    view.x = at.x - (at.x - view.x) * (w / view.w);
    view.y = at.y - (at.y - view.y) * (h / view.h);
    view.w = w; view.h = h;
    apply();
  }
  svg.addEventListener('wheel', function (event) {
    event.preventDefault();
    zoom(event.deltaY > 0 ? 1.25 : 0.8, point(event));
  }, { passive: false });
  var drag = null;
  svg.addEventListener('mousedown', function (event) { drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y }; });
  window.addEventListener('mouseup', function () { drag = null; });
  window.addEventListener('mousemove', function (event) {
    if (!drag) return;
    var box = svg.getBoundingClientRect();
    view.x = drag.vx - (event.clientX - drag.x) / box.width * view.w;
    view.y = drag.vy - (event.clientY - drag.y) / box.height * view.h;
    apply();
  });
  document.getElementById('zoom-in').onclick = function () { zoom(0.5, { x: view.x + view.w / 2, y: view.y + view.h / 2 }); };
  document.getElementById('zoom-out').onclick = function () { zoom(2, { x: view.x + view.w / 2, y: view.y + view.h / 2 }); };
  document.getElementById('zoom-fit').onclick = function () { view = { x: home.x, y: home.y, w: home.w, h: home.h }; apply(); };
  function titleOf(target) {
    for (var el = target; el && el !== svg; el = el.parentNode) {
      var text = el.getAttribute && el.getAttribute('data-tip');
      if (text) return text;
    }
    return null;
  }
  var clocks = JSON.parse(document.getElementById('clock-points').textContent);
  var startMs = Number(svg.getAttribute('data-start-ms'));
  var left = Number(svg.getAttribute('data-left'));
  var pxPerMs = Number(svg.getAttribute('data-px-per-ms'));
  // As clockOffsetAt in diagram-model.ts: the last known offset plus the corrections since.
  function offsetAt(points, at) {
    var offset = null, corrections = 0;
    for (var i = 0; i < points.length && points[i].at <= at; i++) {
      if (points[i].offsetMs !== undefined) { offset = points[i].offsetMs; corrections = 0; }
      else if (points[i].deltaMs !== undefined) corrections += points[i].deltaMs;
    }
    if (offset === null) return corrections === 0 ? null : corrections;
    return offset + corrections;
  }
  function laneTip(target, event) {
    if (!target.classList || !target.classList.contains('lane-hit')) return null;
    var node = target.getAttribute('data-node');
    var at = startMs + (point(event).x - left) / pxPerMs;
    var offset = offsetAt(clocks[node] || [], at);
    var clock = offset === null ? 'no clock reading' : 'clock ' + (offset >= 0 ? '+' : '') + offset.toFixed(1) + ' ms';
    return node + ' at ' + (at / 1000).toFixed(3) + ' s: ' + clock;
  }
  svg.addEventListener('mousemove', function (event) {
    var text = drag ? null : titleOf(event.target) || laneTip(event.target, event);
    if (!text) { tip.style.display = 'none'; return; }
    tip.textContent = text;
    tip.style.display = 'block';
    tip.style.left = (event.pageX + 14) + 'px';
    tip.style.top = (event.pageY + 14) + 'px';
  });
  svg.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  // The SVG's own titles would show as a second, native tooltip: they become data-tip.
  Array.prototype.forEach.call(svg.querySelectorAll('title'), function (title) {
    title.parentNode.setAttribute('data-tip', title.textContent);
    title.parentNode.removeChild(title);
  });
  Array.prototype.forEach.call(document.querySelectorAll('input[data-filter]'), function (box) {
    box.addEventListener('change', function () {
      var hidden = !box.checked;
      Array.prototype.forEach.call(svg.querySelectorAll(box.getAttribute('data-filter')), function (el) {
        el.style.display = hidden ? 'none' : '';
      });
    });
  });
  apply();
})();
`;

const STYLE = `
body { margin: 0; font: 13px system-ui, sans-serif; color: #222; }
header { padding: 8px 12px; border-bottom: 1px solid #ddd; display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; }
header h1 { font-size: 15px; margin: 0 12px 0 0; }
fieldset { border: 1px solid #ddd; padding: 2px 8px; margin: 0; }
legend { font-size: 11px; color: #666; }
label { margin-right: 8px; white-space: nowrap; }
.swatch { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 3px; }
main { height: calc(100vh - 90px); }
#lamport-diagram { width: 100%; height: 100%; cursor: grab; display: block; }
#tip { position: absolute; display: none; background: #222; color: #fff; padding: 4px 8px; border-radius: 3px; font-size: 12px; max-width: 460px; pointer-events: none; }
`;

/**
 * The diagram as a standalone HTML page: the SVG of {@link svgDiagram}
 * inline, with zoom (wheel or buttons), pan (drag), a tooltip on hover
 * (messages, deliveries with their position in the total order, marks with
 * the node's clock offset) and filters by message type and mark kind, so
 * thousands of messages stay readable. Inline CSS and JavaScript, no
 * network access.
 */
export function htmlDiagram(model: DiagramModel): string {
  const types = messageTypes(model);
  const typeBoxes = types
    .map(
      (t) =>
        `<label><input type="checkbox" checked data-filter=".${typeClass(t.type)}"><span class="swatch" style="background:${t.color}"></span>${escapeXml(t.type)} (${t.count})</label>`,
    )
    .join('\n');
  const kindBoxes = markKinds(model)
    .map(
      (kind) =>
        `<label><input type="checkbox" checked data-filter=".k-${kind}">${escapeXml(kind)} (${model.marks.filter((m) => m.kind === kind).length})</label>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${escapeXml(model.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeXml(model.title)}</h1>
<span><button id="zoom-in" type="button">+</button> <button id="zoom-out" type="button">−</button> <button id="zoom-fit" type="button">fit</button> wheel zooms, drag pans</span>
<fieldset><legend>messages</legend>
${typeBoxes}
</fieldset>
<fieldset><legend>marks</legend>
<label><input type="checkbox" checked data-filter=".dlv-g">deliveries (${model.deliveries.length})</label>
${kindBoxes}
</fieldset>
</header>
<main>
${svgDiagram(model)}</main>
<div id="tip" role="tooltip"></div>
<script type="application/json" id="clock-points">${JSON.stringify(model.clocks).replace(/</g, '\\u003c')}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
