// badges.js — the score badge on the page's result cards (app.js): what
// the order is based on, never a number that contradicts it.

/**
 * Each result's badge, in order. Its visual similarity ("88%") — unless
 * the order put it above a result that looks more alike (score, what the
 * results are ordered by, is not their visual similarity): the shopper's
 * history (why = 'personal') or the photo's type and colour (the engine's
 * learned heads) lifted it. Such a result says so instead ("For you",
 * "Same look"; its title keeps the percentage), so the percentages shown
 * never go up down the list (issue 15: 88 % listed above 89 %). Returns
 * [{text, title, lifted}].
 */
export function badges(results, why = 'personal') {
  const out = [];
  for (let i = results.length - 1, below = -1; i >= 0; i--) {
    const r = results[i], p = Math.round(Math.max(0, Math.min(1, Number(r.visual ?? r.score) || 0)) * 100);
    const lifted = r.score !== r.visual && r.visual !== undefined && below > p;
    const because = why === 'personal' ? 'your likes and views' : 'its type and colour match your photo';
    out[i] = lifted
      ? { lifted, text: why === 'personal' ? 'For you' : 'Same look', title: `${p}% similar; placed higher for ${because}` }
      : { lifted, text: `${p}%`, title: `${p}% similar` };
    below = Math.max(below, p);
  }
  return out;
}
