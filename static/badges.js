// badges.js — the score badge on the page's result cards (app.js).

/**
 * Each result's badge, in order: its visual similarity ("88%"), or, where
 * the shopper's history placed it above a more alike one (score ≠ visual),
 * "For you": the percentages shown never contradict the order.
 */
export function badges(results) {
  const out = [];
  for (let i = results.length - 1, below = -1; i >= 0; i--) {
    const r = results[i], p = Math.round(Math.max(0, Math.min(1, Number(r.visual ?? r.score) || 0)) * 100);
    const mine = r.score !== r.visual && r.visual !== undefined && below > p;
    out[i] = { mine, text: mine ? 'For you' : `${p}%`, title: `${p}% similar${mine ? '; placed higher for your likes and views' : ''}` };
    below = Math.max(below, p);
  }
  return out;
}
