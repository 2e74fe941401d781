// The web page's script (served at /page.js): the upload, the result, before and after, the examples. The colour
// hints, their picker and their requests are hints.js (loaded after this file).

// The page's words in its language (the server puts them in #messages): t("status.done", {size, seconds}).
const MESSAGES = JSON.parse(document.getElementById("messages").textContent);
function t(key, vars = {}) {
  if (!(key in MESSAGES)) return key;  // a missing word shows its key, never "undefined"
  return MESSAGES[key].replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

const drop = document.getElementById("drop"), input = document.getElementById("file");
const status = document.getElementById("status"), download = document.getElementById("download");
const after = document.getElementById("after"), stage = document.getElementById("stage");
const before = document.getElementById("before"), overlay = document.getElementById("before-overlay");
const pair = document.getElementById("pair"), views = document.getElementById("views");
const split = document.getElementById("split");
const markers = document.getElementById("markers"), tools = document.getElementById("hint-tools");
const list = document.getElementById("hint-list"), hintStatus = document.getElementById("hint-status");
const undoButton = document.getElementById("undo"), clearButton = document.getElementById("clear-hints");
const picker = document.getElementById("picker"), sizeInput = document.getElementById("picker-size");
const sizeText = document.getElementById("picker-size-text"), freeInput = document.getElementById("picker-free");
const MAX_HINTS = 256, DEBOUNCE_MS = 150, HISTORY = 200, RECENT = 8, RECENT_KEY = "chromatic-charm.recent";
let busy = false;
// Everything the hint tools share: the photo's bytes (re-sent with every change), its points, the undo
// history, the result shown and its pixels (the model's colour at a point), the uploaded photo's pixels (a
// point's lightness, for the suggested colours), and the picker's point: a new one (``pending``, not sent
// until it has a colour) or an existing one (``id``); ``edited``: the picker's changes so far are one undo step.
const hints = {
  takesHints: null,  // from GET /model; null = not known yet
  photo: null, name: "", width: 0, height: 0,
  points: [], nextId: 1, selected: null, history: [], drag: null, dragEnded: 0,
  autoUrl: null, shownUrl: null, pixels: null, inputPixels: null,
  picker: null, lastRadius: 0, recent: [], suggestions: new Map(),
  timer: null, controller: null, sequence: 0, changes: 0,  // requests sent, changes made
};
// A deliberate hook for tests and scripts: the hints of the last /colorize request and whether one is due.
window.chromaticCharm = { lastHints: null, pending: false };

// state: "working", "done" or "error", in #status's data-state for scripts that wait on it in any language
function say(text, state) {
  status.className = state === "error" ? "error" : ""; status.dataset.state = state; status.textContent = text;
}
function hintSay(text, error) { hintStatus.className = error ? "error" : ""; hintStatus.textContent = text; }
function colourName(name) { return t("file.coloured", { name: name.replace(/\.[^.]*$/, "") || t("file.default") }); }
async function failure(response) {
  const body = await response.json().catch(() => ({ error: response.statusText }));
  return new Error(body.error || response.statusText);
}

async function modelTakesHints() {
  if (hints.takesHints !== null) return hints.takesHints;
  try {
    const response = await fetch("model");
    if (response.ok) hints.takesHints = (await response.json()).hints === true;
  } catch (err) { /* not ready yet: asked again with the next photo */ }
  document.getElementById("no-hints").hidden = hints.takesHints !== false;
  return hints.takesHints;
}

// What the browser can tell before uploading: an empty file, a file that is not an image, one over the limit.
const MAX_UPLOAD_BYTES = Number(document.body.dataset.maxUploadBytes) || 25 * 1024 * 1024;
function problem(file) {
  if (file.size === 0) return t("file.empty", { name: file.name });
  const imageName = /\.(jpe?g|png|webp|bmp|tiff?|gif)$/i.test(file.name);
  if (file.type ? !file.type.startsWith("image/") : !imageName) {
    return t("file.not_image", { name: file.name });
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    return t("file.too_large", { name: file.name, size: (file.size / 1048576).toFixed(1),
                                 limit: Math.round(MAX_UPLOAD_BYTES / 1048576) });
  }
  return null;
}

// A new photo replaces the last result only once its own result has arrived: while it is on its way, or if it
// fails, the last result, its hints and its download link stay as they were.
async function colourise(file) {
  if (busy) return;
  const wrong = problem(file);
  if (wrong) { say(t("status.error", { message: wrong }), "error"); input.value = ""; return; }
  busy = true; drop.classList.add("busy"); input.disabled = true;
  const started = Date.now();
  const size = file.size < 1e6 ? Math.ceil(file.size / 1e3) + " KB" : (file.size / 1e6).toFixed(1) + " MB";
  const tick = () => say(t("status.working", { name: file.name, size,
                                               seconds: Math.floor((Date.now() - started) / 1000) }) +
                         (Date.now() - started > 5000 ? t("status.slow") : ""), "working");
  tick();
  const timer = setInterval(tick, 1000);
  try {
    // the bytes stay in memory: every hint change re-sends them, even if the file on disk changes
    const photo = new Blob([await file.arrayBuffer()], { type: file.type });
    const form = new FormData(); form.append("image", photo, file.name);
    const response = await fetch("colorize", { method: "POST", body: form });
    if (!response.ok) throw await failure(response);
    const url = URL.createObjectURL(await response.blob());
    const ready = new Image(); ready.src = url; await ready.decode();  // decoded before anything is replaced
    const uploaded = URL.createObjectURL(photo), original = new Image();
    original.src = uploaded; await original.decode();
    resetHints();
    if (before.src) URL.revokeObjectURL(before.src);
    before.src = overlay.src = uploaded; before.alt = t("pair.before_alt", { name: file.name });
    after.alt = t("pair.after_alt", { name: file.name });
    download.textContent = "";
    pair.hidden = views.hidden = false;
    if (!pair.dataset.view) showView(window.matchMedia("(max-width: 47.99rem)").matches ? "compare" : "side");
    await showResult(url, []);
    Object.assign(hints, { photo, name: file.name, autoUrl: url,
                           width: after.naturalWidth, height: after.naturalHeight });
    pair.style.setProperty("--aspect", String(hints.width / hints.height));
    const sameSize = original.naturalWidth === hints.width && original.naturalHeight === hints.height;
    hints.inputPixels = sameSize ? pixelsOf(original) : null;  // else the result's own lightness is used
    const colour = response.headers.get("X-Input-Colour") === "yes" ? t("status.had_colour") : "";
    say(t("status.done", { size: response.headers.get("X-Image-Size"),
                           seconds: ((Date.now() - started) / 1000).toFixed(1) }) + colour, "done");
    const link = document.createElement("a");
    link.id = "download-link"; link.href = url; link.download = colourName(file.name);
    link.textContent = t("download.link", { file: link.download });
    download.appendChild(link);
    if (await modelTakesHints()) {
      tools.hidden = false; stage.classList.add("hinting"); after.tabIndex = 0; render();
    }
  } catch (err) {
    // the server's reason stays as it sent it (its JSON "error", in English: no code to translate)
    say(t("status.error", { message: err.message }) + (hints.photo ? t("status.kept") : ""), "error");
  } finally {
    clearInterval(timer);
    busy = false; drop.classList.remove("busy"); input.disabled = false; input.value = "";
  }
}

function pixelsOf(image) {  // an image's RGBA pixels at its natural size
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(image, 0, 0);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

// Shows a result and keeps its pixels: the model's colour at a point is offered in the picker.
async function showResult(url, sent, sequence) {
  after.src = url;
  await after.decode();
  if (sequence !== undefined && sequence !== hints.sequence) return;  // a newer result is on its way
  hints.pixels = pixelsOf(after);
  after.dataset.hints = JSON.stringify(sent);
  if (hints.shownUrl && hints.shownUrl !== hints.autoUrl && hints.shownUrl !== url) URL.revokeObjectURL(hints.shownUrl);
  hints.shownUrl = url;
  const link = document.getElementById("download-link");
  if (link) link.href = url;
}

function resetHints() {
  clearTimeout(hints.timer);
  if (hints.controller) hints.controller.abort();
  if (hints.autoUrl) URL.revokeObjectURL(hints.autoUrl);
  if (hints.shownUrl && hints.shownUrl !== hints.autoUrl) URL.revokeObjectURL(hints.shownUrl);
  Object.assign(hints, { photo: null, points: [], nextId: 1, selected: null, history: [], drag: null, picker: null,
                         autoUrl: null, shownUrl: null, pixels: null, inputPixels: null, controller: null });
  picker.hidden = true;
  tools.hidden = true; stage.classList.remove("hinting", "updating"); after.tabIndex = -1;
  window.chromaticCharm.pending = false;
  hintSay("");
  render();
}

// ---- before and after: side by side, or on one image cut by a slider --------------------------------------
function showView(view) {
  pair.dataset.view = view;
  pair.classList.toggle("compare", view === "compare");
  document.getElementById("view-side").setAttribute("aria-pressed", String(view === "side"));
  document.getElementById("view-compare").setAttribute("aria-pressed", String(view === "compare"));
  placePicker();
}
function slide() {
  stage.style.setProperty("--split", split.value + "%");
  split.setAttribute("aria-valuetext", t("pair.split_value", { before: split.value, after: 100 - split.value }));
}
document.getElementById("view-side").addEventListener("click", () => showView("side"));
document.getElementById("view-compare").addEventListener("click", () => showView("compare"));
split.addEventListener("input", slide);
slide();

input.addEventListener("change", () => input.files[0] && colourise(input.files[0]));
document.getElementById("choose").addEventListener("click", (e) => { e.stopPropagation(); input.click(); });
drop.addEventListener("click", () => { if (!busy) input.click(); });  // anywhere in the drop zone, as before
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files[0]) colourise(e.dataTransfer.files[0]); });
// Example photos (from the repo's samples/, in grayscale): one click colourises one, as an upload would.
async function offerExamples() {
  const box = document.getElementById("examples");
  try {
    const response = await fetch("examples.json");
    if (!response.ok) return;
    for (const example of await response.json()) {
      const button = document.createElement("button");
      button.type = "button"; button.className = "example";
      const words = example["caption_" + document.documentElement.lang] || example.caption;
      button.dataset.file = example.file;
      button.setAttribute("aria-label", t("examples.try", { caption: words }));
      const thumb = document.createElement("img");
      thumb.src = example.url; thumb.alt = ""; thumb.loading = "lazy";
      const caption = document.createElement("span");
      caption.textContent = words;
      button.append(thumb, caption);
      button.addEventListener("click", async () => {
        if (busy) return;
        try {
          const blob = await (await fetch(example.url)).blob();
          colourise(new File([blob], example.file, { type: blob.type || "image/jpeg" }));
        } catch (err) { say(t("status.error", { message: t("examples.failed", { message: err.message }) }), "error"); }
      });
      box.appendChild(button);
    }
    box.hidden = false;
  } catch (err) { /* no examples: the page works without them */ }
}
offerExamples();
modelTakesHints();
