// The web page's colour hints (served at /hints.js, after page.js, whose state and elements it uses): the points,
// their markers and list, the colour picker, the requests that re-colour the photo, the pointer and the keyboard.

// ---- the points: model, undo, and their markers and list entries --------------------------------------
function hex(r, g, b) { return "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join(""); }
function colourAt(pixels, x, y) {
  const i = (Math.round(y) * pixels.width + Math.round(x)) * 4;
  return hex(pixels.data[i], pixels.data[i + 1], pixels.data[i + 2]);
}
function pixelColour(x, y) { return colourAt(hints.pixels, x, y); }  // the result shown, there
function photoPoint(clientX, clientY) {  // CSS pixels of the window -> the photo's own pixels, inside it
  const box = after.getBoundingClientRect();
  const clamp = (v, top) => Math.min(top, Math.max(0, v));
  return { x: clamp(Math.floor((clientX - box.left) * hints.width / box.width), hints.width - 1),
           y: clamp(Math.floor((clientY - box.top) * hints.height / box.height), hints.height - 1) };
}
function snapshot() { return hints.points.map((p) => ({ ...p })); }
function remember() {  // call before a change: Undo returns to this state
  hints.history.push(snapshot());
  if (hints.history.length > HISTORY) hints.history.shift();
}
function find(id) { return hints.points.find((p) => p.id === id); }
function label(p) { return t("point.name", { n: p.id }); }  // numbers stay with their points when another is deleted
function pending() { return hints.picker && hints.picker.pending; }
function key(point) { return point === pending() ? "new" : String(point.id); }
function pointOf(element) {
  const id = element.dataset.point;
  return id === "new" ? pending() : find(Number(id));
}

function addPoint(x, y, color, radius) {  // returns the new point's id, or null
  if (hints.points.length >= MAX_HINTS) { hintSay(t("hints.too_many", { max: MAX_HINTS }), true); return null; }
  remember();
  const point = { id: hints.nextId++, x, y, color, radius: radius || 0 };
  hints.points.push(point);
  hints.selected = point.id;
  changed();
  return point.id;
}
function deletePoint(id) {
  if (!find(id)) return;
  if (hints.picker && hints.picker.id === id) closePicker(false);
  remember();
  hints.points = hints.points.filter((p) => p.id !== id);
  if (hints.selected === id) hints.selected = null;
  changed();
}
function movePoint(point, x, y) {
  point.x = Math.min(hints.width - 1, Math.max(0, x));
  point.y = Math.min(hints.height - 1, Math.max(0, y));
  place(point);
  if (point === pending()) fillPicker(); else schedule();  // a new point is sent once it has a colour
}
function undo() {
  closePicker(false);
  if (!hints.history.length) return;
  hints.points = hints.history.pop();
  if (!find(hints.selected)) hints.selected = null;
  changed();
}
function clearHints() {
  closePicker(false);
  if (!hints.points.length) return;
  remember();
  hints.points = []; hints.selected = null;
  changed();
}
function select(id, focus) {
  hints.selected = id;
  for (const el of document.querySelectorAll("[data-point]")) {
    el.classList.toggle("selected", el.dataset.point === String(id));
  }
  const marker = markers.querySelector('.marker[data-point="' + id + '"]');
  if (marker && focus) marker.focus();
}
function changed() { render(); schedule(); }

function place(point) {  // a point's marker, reach and list entry, updated in place (a drag keeps its pointer)
  const k = key(point), isNew = k === "new";
  const marker = markers.querySelector('.marker[data-point="' + k + '"]');
  if (!marker) return;
  const left = ((point.x + 0.5) * 100 / hints.width) + "%", top = ((point.y + 0.5) * 100 / hints.height) + "%";
  marker.style.left = left; marker.style.top = top;
  const reach = markers.querySelector('.reach[data-point="' + k + '"]');
  if (reach) {
    Object.assign(reach.style, { left, top, width: ((2 * point.radius + 1) * 100 / hints.width) + "%",
                                 height: ((2 * point.radius + 1) * 100 / hints.height) + "%" });
  }
  const size = point.radius ? ", " + t("point.size", { radius: point.radius }) : "";
  if (isNew) {
    marker.setAttribute("aria-label", t("point.new_label", { n: hints.nextId, x: point.x, y: point.y, size }));
  } else {
    marker.style.background = point.color;
    marker.setAttribute("aria-label", t("point.label", { n: point.id, x: point.x, y: point.y, color: point.color,
                                                         size }));
    const item = list.querySelector('li[data-point="' + k + '"]');
    if (item) {
      const swatch = item.querySelector(".swatch");
      swatch.style.background = point.color;
      swatch.setAttribute("aria-label", t("point.swatch", { n: point.id, color: point.color }));
      item.querySelector(".size").textContent = point.radius ? t("point.size", { radius: point.radius }) : "";
    }
  }
  if (hints.picker && (isNew || hints.picker.id === point.id)) placePicker();
}

function render() {
  markers.textContent = ""; list.textContent = "";
  const all = pending() ? [...hints.points, pending()] : hints.points;
  for (const point of all) {  // the reaches first: the markers stay on top of them
    if (!point.radius) continue;
    const reach = document.createElement("div");
    reach.className = "reach"; reach.dataset.point = key(point);
    markers.appendChild(reach);
  }
  for (const point of all) {
    const marker = document.createElement("button");
    marker.type = "button"; marker.className = "marker"; marker.dataset.point = key(point);
    marker.textContent = String(point === pending() ? hints.nextId : point.id);
    if (point === pending()) marker.classList.add("pending");
    markers.appendChild(marker);
    if (point !== pending()) list.appendChild(entry(point));
    place(point);
  }
  select(hints.selected, false);
  undoButton.disabled = !hints.history.length;
  clearButton.disabled = !hints.points.length;
}

function entry(point) {  // a point's line in the list: its name, colour (opens the picker), size, Delete
  const item = document.createElement("li");
  item.dataset.point = point.id;
  const where = document.createElement("span");
  where.className = "where"; where.textContent = label(point);
  where.addEventListener("click", () => select(point.id, true));
  const swatch = document.createElement("button");
  swatch.type = "button"; swatch.className = "swatch";
  swatch.addEventListener("click", () => openPicker({ id: point.id }, true));
  const size = document.createElement("span");
  size.className = "size";
  const remove = document.createElement("button");
  remove.type = "button"; remove.className = "delete"; remove.textContent = t("point.delete");
  remove.setAttribute("aria-label", t("point.delete_label", { n: point.id }));
  remove.addEventListener("click", () => deletePoint(point.id));
  item.append(where, swatch, size, remove);
  return item;
}

// ---- the colour picker: opens at a click; a new point is sent once it has a colour ---------------------------
function loadRecent() {
  try { return JSON.parse(localStorage.getItem(RECENT_KEY) || "[]").filter((c) => /^#[0-9a-f]{6}$/.test(c)).slice(0, RECENT); }
  catch (err) { return []; }
}
function addRecent(colour) {
  hints.recent = [colour, ...hints.recent.filter((c) => c !== colour)].slice(0, RECENT);
  try { localStorage.setItem(RECENT_KEY, JSON.stringify(hints.recent)); } catch (err) { /* private mode: this page only */ }
}
function pickerPoint() { const open = hints.picker; return open && (open.pending || find(open.id)); }
function maxRadius() { return Math.max(8, Math.min(512, Math.round(Math.max(hints.width, hints.height) / 8))); }
function sizeSay(radius) { sizeText.textContent = radius ? radius + " px" : t("picker.spot"); }

function openPicker(target, focusPicker) {  // target: {pending: {x, y, radius}} or {id}
  closePicker(false);
  hints.picker = { id: target.id === undefined ? null : target.id, pending: target.pending || null, edited: false };
  const point = pickerPoint();
  if (!point) { hints.picker = null; return; }
  document.getElementById("picker-title").textContent =
    point === pending() ? t("point.new", { n: hints.nextId }) : label(point);
  document.getElementById("picker-remove").textContent = point === pending() ? t("picker.cancel") : t("picker.remove");
  sizeInput.max = String(maxRadius()); sizeInput.value = String(point.radius); sizeSay(point.radius);
  freeInput.value = point.color || pixelColour(point.x, point.y);
  picker.hidden = false;
  if (point === pending()) render(); else select(point.id, false);
  fillPicker();
  placePicker();
  picker.scrollIntoView({ block: "nearest", inline: "nearest" });
  if (focusPicker) picker.focus();
  hintSay(point === pending() ? t("picker.pick") : "");
}

function closePicker(restoreFocus) {
  const open = hints.picker;
  if (!open) return;
  const inside = picker.contains(document.activeElement);
  hints.picker = null; picker.hidden = true;
  const point = open.id !== null ? find(open.id) : null;
  if (point && open.edited) addRecent(point.color);
  if (open.pending) { render(); hintSay(""); }  // a new point without a colour is no point
  if (point && (restoreFocus || inside)) select(point.id, true);
}

function colourWord(name) { return MESSAGES["colour." + name] || name; }  // /suggestions' English hue names

function swatches(box, items, chosen) {
  box.textContent = "";
  for (const { color, name } of items) {
    const button = document.createElement("button");
    button.type = "button"; button.className = "swatch"; button.style.background = color;
    button.dataset.color = color; button.title = name + " " + color;
    button.setAttribute("aria-label", name + " " + color);
    button.classList.toggle("chosen", color === chosen);
    button.addEventListener("click", () => pick(color, false));
    box.appendChild(button);
  }
}

function fillPicker() {
  const point = pickerPoint();
  if (!point) return;
  const chosen = point === pending() ? null : point.color;
  const model = [{ color: pixelColour(point.x, point.y), name: t("picker.model_swatch") }];
  swatches(document.getElementById("picker-model"), model, chosen);
  swatches(document.getElementById("picker-recent"), hints.recent.map((color) => ({ color, name: t("picker.recent_swatch") })),
           chosen);
  document.getElementById("picker-recent-row").hidden = !hints.recent.length;
  // the suggestions depend on the lightness there: the uploaded photo's pixel (the result's, failing that)
  const pixel = hints.inputPixels ? colourAt(hints.inputPixels, point.x, point.y) : pixelColour(point.x, point.y);
  const box = document.getElementById("picker-suggested"), known = hints.suggestions.get(pixel);
  if (known) { swatches(box, known, chosen); return; }
  box.textContent = "…";
  fetch("suggestions?pixel=" + encodeURIComponent(pixel))
    .then((r) => r.ok ? r.json() : Promise.reject(new Error(r.statusText)))
    .then((body) => {
      const items = body.colors.map((c) => ({ color: c.color, name: colourWord(c.name) }));
      hints.suggestions.set(pixel, items);
      if (pickerPoint() !== point) return;
      swatches(box, items, point === pending() ? null : point.color);
      placePicker();  // taller now: still in its place, and in view
      picker.scrollIntoView({ block: "nearest", inline: "nearest" });
    })
    .catch(() => { if (pickerPoint() === point) box.textContent = t("picker.suggested_failed"); });
}

function placePicker() {  // under the point, or over it when there is more room above; inside the photo's width
  const point = pickerPoint();
  if (!point || picker.hidden) return;
  const w = stage.clientWidth, h = stage.clientHeight, gap = 18;
  const px = (point.x + 0.5) * w / hints.width, py = (point.y + 0.5) * h / hints.height;
  const pw = picker.offsetWidth, ph = picker.offsetHeight;
  picker.style.left = Math.max(0, Math.min(w - pw, px - pw / 2)) + "px";
  const below = py + gap, above = py - gap - ph;
  picker.style.top = (below + ph <= h || above < 0 || h - py > py ? below : above) + "px";
}

function pick(colour, keepOpen) {  // the picker's colour for its point: a new point is added with it
  const open = hints.picker;
  if (!open) return;
  if (open.pending) {
    const p = open.pending;
    open.pending = null;  // before the new point is drawn: it replaces the pending marker
    const id = addPoint(p.x, p.y, colour, p.radius);
    if (id === null) { open.pending = p; return; }
    Object.assign(open, { id, edited: true });
  } else {
    const point = find(open.id);
    if (!point) return;
    if (point.color !== colour) {
      if (!open.edited) { remember(); open.edited = true; }  // one undo step per picker session
      point.color = colour; undoButton.disabled = false;
      place(point); schedule();
    }
  }
  if (keepOpen) fillPicker(); else closePicker(true);
}

function resize(radius) {  // the picker's size for its point
  const open = hints.picker, point = pickerPoint();
  if (!point || point.radius === radius) return;
  sizeSay(radius); hints.lastRadius = radius;
  if (open.pending) { point.radius = radius; render(); return; }
  if (!open.edited) { remember(); open.edited = true; }
  point.radius = radius; undoButton.disabled = false;
  render(); schedule();
}

sizeInput.addEventListener("input", () => resize(Number(sizeInput.value)));
freeInput.addEventListener("input", () => pick(freeInput.value, true));  // live while the system picker is open
freeInput.addEventListener("change", () => pick(freeInput.value, false));
document.getElementById("picker-done").addEventListener("click", () => closePicker(true));
document.getElementById("picker-close").addEventListener("click", () => closePicker(true));
document.getElementById("picker-remove").addEventListener("click", () => {
  const open = hints.picker;
  if (open && open.id !== null) deletePoint(open.id); else closePicker(false);
  after.focus();
});
document.addEventListener("pointerdown", (e) => {  // a press outside the picker, the photo and the markers closes it
  if (picker.hidden || picker.contains(e.target) || e.target === after || (e.target.closest && e.target.closest(".marker"))) return;
  closePicker(false);
});
window.addEventListener("resize", placePicker);

// ---- re-colouring: debounced, the request in flight cancelled by the next --------------------------------
function schedule() {
  clearTimeout(hints.timer);
  hints.changes++;
  window.chromaticCharm.pending = true;
  stage.classList.add("updating");
  hintSay(t("hints.updating"));
  hints.timer = setTimeout(send, DEBOUNCE_MS);
}

async function send() {
  if (hints.controller) hints.controller.abort();
  const sent = hints.points.map((p) => p.radius ? { x: p.x, y: p.y, color: p.color, radius: p.radius }
                                                 : { x: p.x, y: p.y, color: p.color });
  const sequence = ++hints.sequence, changes = hints.changes, started = Date.now();
  const done = (text, error) => {  // a result that a newer change already outdates is shown, but not as done
    if (sequence !== hints.sequence || changes !== hints.changes) return;
    window.chromaticCharm.pending = false; stage.classList.remove("updating"); hintSay(text, error);
  };
  try {
    if (!sent.length) {  // no hints: the automatic result, kept from the upload
      hints.controller = null;
      await showResult(hints.autoUrl, [], sequence);
      done(t("hints.automatic"));
      return;
    }
    const controller = hints.controller = new AbortController();
    window.chromaticCharm.lastHints = sent;
    let response;
    for (let attempt = 1; ; attempt++) {
      const form = new FormData();
      form.append("image", hints.photo, hints.name);
      form.append("hints", JSON.stringify(sent));
      response = await fetch("colorize", { method: "POST", body: form, signal: controller.signal });
      if (response.status !== 503 || attempt === 3) break;
      const wait = Math.min(3, Number(response.headers.get("Retry-After")) || 1);  // busy: try again shortly
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      if (controller.signal.aborted) return;
    }
    if (!response.ok) throw await failure(response);
    const url = URL.createObjectURL(await response.blob());
    if (sequence !== hints.sequence) { URL.revokeObjectURL(url); return; }
    await showResult(url, sent, sequence);
    const n = sent.length;
    const took = { n, seconds: ((Date.now() - started) / 1000).toFixed(1) };
    done(n === 1 ? t("hints.updated_one", took) : t("hints.updated_many", took));
  } catch (err) {
    if (err.name !== "AbortError") done(t("status.error", { message: err.message }), true);
  }
}

// ---- pointer and keyboard ----------------------------------------------------------------------------------
function hinting() { return !tools.hidden && hints.photo !== null; }
function newPoint(x, y) {  // a click's point: not sent until the picker gives it a colour
  if (hints.points.length >= MAX_HINTS) { hintSay(t("hints.too_many", { max: MAX_HINTS }), true); return; }
  openPicker({ pending: { x, y, radius: hints.lastRadius, color: null } }, true);
}
after.addEventListener("click", (e) => {
  if (!hinting()) return;
  const { x, y } = photoPoint(e.clientX, e.clientY);
  newPoint(x, y);
});
markers.addEventListener("pointerdown", (e) => {
  const marker = e.target.closest(".marker"), point = marker && pointOf(marker);
  if (!point || !hinting()) return;
  e.preventDefault();
  if (point !== pending()) select(point.id, true); else marker.focus();
  marker.setPointerCapture(e.pointerId);
  hints.drag = { point, startX: e.clientX, startY: e.clientY, before: snapshot(), moved: false };
});
markers.addEventListener("pointermove", (e) => {
  const drag = hints.drag;
  if (!drag) return;
  if (!drag.moved && Math.hypot(e.clientX - drag.startX, e.clientY - drag.startY) < 3) return;
  if (!drag.moved && drag.point !== pending()) {  // the whole drag is one undo step
    hints.history.push(drag.before); undoButton.disabled = false;
  }
  drag.moved = true;
  const { x, y } = photoPoint(e.clientX, e.clientY);
  movePoint(drag.point, x, y);
});
for (const type of ["pointerup", "pointercancel"]) {
  markers.addEventListener(type, () => {
    if (hints.drag && hints.drag.moved) hints.dragEnded = Date.now();
    hints.drag = null;
  });
}
markers.addEventListener("click", (e) => {  // a click (or Enter) on a point opens its picker; a drag's end does not
  const marker = e.target.closest(".marker"), point = marker && pointOf(marker);
  if (!point || point === pending() || Date.now() - hints.dragEnded < 300) return;
  openPicker({ id: point.id }, false);
});
markers.addEventListener("keydown", (e) => {
  const marker = e.target.closest(".marker"), point = marker && pointOf(marker);
  if (point && e.key === "Tab" && !e.shiftKey && !picker.hidden && pickerPoint() === point) {
    e.preventDefault(); picker.querySelector("input, button").focus();  // from a point to its colours
    return;
  }
  const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
  if (!point || !steps) return;
  e.preventDefault();
  const step = e.shiftKey ? 10 : 1;
  if (point !== pending()) { remember(); undoButton.disabled = false; }
  movePoint(point, point.x + steps[0] * step, point.y + steps[1] * step);
});
document.addEventListener("keydown", (e) => {
  if (!hinting()) return;
  const typing = e.target.matches && e.target.matches("input:not([type=color]):not([type=file]):not([type=range]), textarea");
  const inPicker = picker.contains(e.target);
  if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z" && !typing) {
    e.preventDefault(); undo();
  } else if ((e.key === "Delete" || e.key === "Backspace") && hints.selected !== null && !typing && !inPicker
             && !pending()) {
    e.preventDefault();
    const index = hints.points.findIndex((p) => p.id === hints.selected);
    deletePoint(hints.selected);
    const next = hints.points[Math.min(index, hints.points.length - 1)];
    if (next) select(next.id, true);
  } else if (e.key === "Escape") {
    if (!picker.hidden) {
      const wasNew = !!pending();
      closePicker(true);
      if (wasNew) after.focus();
    } else {
      select(null, false);
    }
  }
});
after.addEventListener("keydown", (e) => {  // the keyboard's click: a new point at the photo's centre
  if (e.key !== "Enter" || !hinting()) return;
  e.preventDefault();
  newPoint(Math.floor(hints.width / 2), Math.floor(hints.height / 2));
  const marker = markers.querySelector('.marker[data-point="new"]');
  if (marker) marker.focus();  // focused, so the arrow keys move it at once; Tab reaches its colours
});
undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", clearHints);
hints.recent = loadRecent();
