// crop.js — a rectangle over the preview image that the shopper moves and
// resizes with a pointer (mouse, pen, touch) or the keyboard. The rectangle is
// kept in the image's own pixel coordinates (naturalWidth × naturalHeight, the
// upright image the browser shows), which is what the engine crops.

const MIN_FRACTION = 0.06; // smallest side, as a fraction of the image side

/**
 * @param {HTMLElement} stage   positioned container holding the image
 * @param {HTMLImageElement} img
 * @param {HTMLElement} box     the crop rectangle element (with .handle children)
 * @param {(rect:{x:number,y:number,w:number,h:number}, committed:boolean)=>void} onChange
 */
export function createCropBox(stage, img, box, onChange) {
  let W = 1, H = 1;
  let r = { x: 0, y: 0, w: 1, h: 1 };
  let drag = null;

  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  function minW() { return Math.max(8, Math.round(W * MIN_FRACTION)); }
  function minH() { return Math.max(8, Math.round(H * MIN_FRACTION)); }

  function normalise(n) {
    let w = clamp(Math.round(n.w), minW(), W);
    let h = clamp(Math.round(n.h), minH(), H);
    let x = clamp(Math.round(n.x), 0, W - w);
    let y = clamp(Math.round(n.y), 0, H - h);
    return { x, y, w, h };
  }

  function render() {
    box.style.left = `${(r.x / W) * 100}%`;
    box.style.top = `${(r.y / H) * 100}%`;
    box.style.width = `${(r.w / W) * 100}%`;
    box.style.height = `${(r.h / H) * 100}%`;
    const whole = r.w === W && r.h === H;
    const pct = (v, t) => Math.round((v / t) * 100);
    box.setAttribute('aria-label', whole
      ? 'Search area: whole photo'
      : `Search area: ${pct(r.w, W)}% wide and ${pct(r.h, H)}% high, starting ${pct(r.x, W)}% from the left and ${pct(r.y, H)}% from the top`);
  }

  function set(n, committed) {
    delete box.dataset.auto;
    r = normalise(n);
    render();
    onChange({ ...r }, committed);
  }

  // Pixel scale between the displayed image and its natural size.
  function scale() {
    const b = img.getBoundingClientRect();
    return { sx: W / Math.max(1, b.width), sy: H / Math.max(1, b.height), left: b.left, top: b.top };
  }

  function onDown(e) {
    if (e.button !== undefined && e.button !== 0) return;
    const s = scale();
    const px = (e.clientX - s.left) * s.sx;
    const py = (e.clientY - s.top) * s.sy;
    const handle = e.target instanceof Element && e.target.dataset.handle;
    const inside = px >= r.x && px <= r.x + r.w && py >= r.y && py <= r.y + r.h;
    drag = {
      id: e.pointerId, s, px, py, start: { ...r },
      mode: handle || (inside ? 'move' : 'draw'),
    };
    if (drag.mode === 'draw') drag.start = { x: px, y: py, w: 0, h: 0 };
    stage.setPointerCapture(e.pointerId);
    box.focus({ preventScroll: true });
    e.preventDefault();
  }

  function onMove(e) {
    if (!drag || e.pointerId !== drag.id) return;
    const { s, start } = drag;
    const px = clamp((e.clientX - s.left) * s.sx, 0, W);
    const py = clamp((e.clientY - s.top) * s.sy, 0, H);
    const dx = px - drag.px, dy = py - drag.py;
    let n;
    switch (drag.mode) {
      case 'move':
        n = { x: start.x + dx, y: start.y + dy, w: start.w, h: start.h };
        break;
      case 'draw': {
        const x0 = Math.min(start.x, px), y0 = Math.min(start.y, py);
        n = { x: x0, y: y0, w: Math.abs(px - start.x), h: Math.abs(py - start.y) };
        break;
      }
      default: { // corner handles: the opposite corner stays put
        let x0 = start.x, y0 = start.y, x1 = start.x + start.w, y1 = start.y + start.h;
        if (drag.mode.includes('w')) x0 = Math.min(px, x1 - minW());
        if (drag.mode.includes('e')) x1 = Math.max(px, x0 + minW());
        if (drag.mode.includes('n')) y0 = Math.min(py, y1 - minH());
        if (drag.mode.includes('s')) y1 = Math.max(py, y0 + minH());
        n = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
      }
    }
    set(n, false);
  }

  function onUp(e) {
    if (!drag || e.pointerId !== drag.id) return;
    const wasDraw = drag.mode === 'draw';
    drag = null;
    // A click without a drag outside the box does not shrink it to nothing.
    if (wasDraw && (r.w <= minW() + 1 || r.h <= minH() + 1)) {
      set({ x: 0, y: 0, w: W, h: H }, true);
      return;
    }
    set(r, true);
  }

  function onKey(e) {
    const stepX = Math.max(1, Math.round(W * (e.altKey ? 0.01 : 0.04)));
    const stepY = Math.max(1, Math.round(H * (e.altKey ? 0.01 : 0.04)));
    const n = { ...r };
    const key = e.key;
    if (key === 'Enter') { set(r, true); e.preventDefault(); return; }
    if (key === 'Escape' || key === 'Home') { set({ x: 0, y: 0, w: W, h: H }, true); e.preventDefault(); return; }
    if (key === '+' || key === '=' || key === '-') {
      const f = key === '-' ? 0.9 : 1 / 0.9;
      const cx = r.x + r.w / 2, cy = r.y + r.h / 2;
      n.w = clamp(r.w * f, minW(), W); n.h = clamp(r.h * f, minH(), H);
      n.x = cx - n.w / 2; n.y = cy - n.h / 2;
    } else if (e.shiftKey) {
      if (key === 'ArrowLeft') n.w -= stepX;
      else if (key === 'ArrowRight') n.w += stepX;
      else if (key === 'ArrowUp') n.h -= stepY;
      else if (key === 'ArrowDown') n.h += stepY;
      else return;
    } else {
      if (key === 'ArrowLeft') n.x -= stepX;
      else if (key === 'ArrowRight') n.x += stepX;
      else if (key === 'ArrowUp') n.y -= stepY;
      else if (key === 'ArrowDown') n.y += stepY;
      else return;
    }
    e.preventDefault();
    set(n, false);
    scheduleCommit();
  }

  let commitTimer = 0;
  function scheduleCommit() {
    clearTimeout(commitTimer);
    commitTimer = setTimeout(() => set(r, true), 700);
  }

  stage.addEventListener('pointerdown', onDown);
  stage.addEventListener('pointermove', onMove);
  stage.addEventListener('pointerup', onUp);
  stage.addEventListener('pointercancel', onUp);
  box.addEventListener('keydown', onKey);

  return {
    /** Sets the image size and resets the rectangle to the whole image. */
    reset(width, height) {
      delete box.dataset.auto;
      W = Math.max(1, width); H = Math.max(1, height);
      r = { x: 0, y: 0, w: W, h: H };
      render();
    },
    whole() { set({ x: 0, y: 0, w: W, h: H }, true); },
    /**
     * Shows a rectangle the engine proposed (where it found the product)
     * without searching again: the shopper can still move it, which does.
     */
    propose(n) {
      r = normalise(n);
      render();
      box.dataset.auto = 'true';
      box.setAttribute('aria-label', `${box.getAttribute('aria-label')} (found automatically; move it to search another part)`);
    },
    get rect() { return { ...r }; },
    get isWhole() { return r.x === 0 && r.y === 0 && r.w === W && r.h === H; },
  };
}
