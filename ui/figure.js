// Draws one Plotly figure with the partial plotly.js bundle the app serves itself (why: ui/figure.py).
// data = {figure: the figure's JSON text, config: Plotly's config, bundle: the bundle's URL below the app's root}.

function loadPlotly(bundle) {
  // One <script> per page for every figure; a failed load is retried by the next figure.
  if (!window.__headlightPlotly) {
    window.__headlightPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL(bundle, window.location.origin + window.location.pathname.replace(/[^/]*$/, "")).href;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        window.__headlightPlotly = null;
        reject(new Error(`plotly.js could not be loaded from ${script.src}.`));
      };
      document.head.appendChild(script);
    });
  }
  return window.__headlightPlotly;
}

function faded(color, alpha) {
  const rgb = color.match(/\d+(\.\d+)?/g) || [49, 51, 63];
  return `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})`;
}

function themed(layout) {
  // What Streamlit's own chart element does to a figure (its "streamlit" theme, read from its 1.67 bundle), on the
  // page's own colours so a dark theme works too: the theme replaces the template's defaults, the figure's settings win.
  const body = getComputedStyle(document.body);
  const text = body.color || "rgb(49, 51, 63)", family = body.fontFamily, muted = faded(text, 0.6), grid = faded(text, 0.1);
  // Streamlit's sizes are in rem: presentation mode's larger root font (20 px) makes every default larger too.
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const small = 0.75 * rem, medium = 0.875 * rem;
  const ticks = {tickcolor: grid, tickfont: {color: muted, size: small}, gridcolor: grid, zerolinecolor: grid, automargin: true};
  const theme = {
    font: {color: muted, family, size: small},
    title: {font: {family, size: rem, color: text}, pad: {l: 0.25 * rem}, xanchor: "left", x: 0},
    legend: {title: {font: {size: small, color: muted}, side: "top"}, valign: "top", borderwidth: 0, font: {size: small, color: muted}},
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    xaxis: {...ticks, showgrid: false, zeroline: false, title: {font: {color: muted, size: medium}, standoff: 1.25 * rem}},
    yaxis: {...ticks, ticklabelposition: "outside", title: {font: {color: muted, size: medium}, standoff: 1.5 * rem}},
    margin: {pad: 0.5 * rem, r: 0, l: 0},
    hoverlabel: {font: {family, size: small}},
    coloraxis: {colorbar: {thickness: 16, xpad: 1.5 * rem, outlinewidth: 0, tickfont: {color: muted, size: small}}},
  };
  const template = layout.template || {};
  const merged = {...layout, template: {...template, layout: deepMerge(template.layout || {}, theme)}};
  if (merged.title) {  // Streamlit's titles are bold
    const title = typeof merged.title === "string" ? {text: merged.title} : merged.title;
    if (typeof title.text === "string" && title.text) merged.title = {...title, text: `<b>${title.text}</b>`};
  }
  return merged;
}

function deepMerge(base, over) {
  const out = {...base};
  for (const [key, value] of Object.entries(over)) {
    const plain = value && typeof value === "object" && !Array.isArray(value);
    out[key] = plain && base[key] && typeof base[key] === "object" ? deepMerge(base[key], value) : value;
  }
  return out;
}

// A main figure fills the window from its own top down (data.fill, set by ui/theme.py): in presentation mode exactly
// ({share, screen}; screen, when given, is a height to size for instead of the window's), to the window's bottom edge,
// so that the next element starts below it, out of sight; in normal mode only growing ({share, grow}), a little short
// of the bottom. Measured again when the window or the page above it changes size, so a caption or a second row of
// controls never pushes the figure's bottom off the screen.
const GROW_GAP_PX = 10, MIN_HEIGHT_PX = 240;
const filled = new Set();

function fillHeight(div, fill) {
  const screen = fill.screen || window.innerHeight;
  const top = div.getBoundingClientRect().top + window.scrollY;
  const share = fill.share || 1;
  const height = Math.floor((screen - top - (fill.grow ? GROW_GAP_PX : 0)) * share) - (share < 1 ? 8 : 0);
  // normal mode (grow): never below the figure's own height, nor taller than the window
  return fill.grow ? Math.min(Math.max(fill.own, height), Math.max(fill.own, screen))
                   : Math.max(MIN_HEIGHT_PX, height);
}

function refit() {
  for (const entry of [...filled]) {
    if (!entry.div.isConnected) { filled.delete(entry); continue; }
    if (!entry.div._fullLayout) continue;  // not drawn yet
    const height = fillHeight(entry.div, entry.fill);
    if (Math.abs(height - entry.div._fullLayout.height) <= 2) continue;
    // react, not relayout: relayout({height}) would fix the width too, and the figure would keep it when the window
    // narrows; the layout without a width keeps plotly.js sizing the width to the page.
    const {width, autosize, ...layout} = entry.div.layout;
    window.Plotly.react(entry.div, entry.div.data, {...layout, height});
  }
}

function watchLayout() {
  if (window.__headlightFillWatch) return;
  window.__headlightFillWatch = true;
  window.addEventListener("resize", refit);
  const main = document.querySelector("[data-testid='stMainBlockContainer']") || document.body;
  new ResizeObserver(() => requestAnimationFrame(refit)).observe(main);
}

export default function ({ data, parentElement, setTriggerValue }) {
  if (!data.figure) {  // preload_plotly(): start loading the bundle while the server is still translating
    loadPlotly(data.bundle).catch(() => {});
    return;
  }
  let div = parentElement.querySelector(".headlight-figure");
  if (!div) {
    div = document.createElement("div");
    div.className = "headlight-figure";
    div.style.width = "100%";
    parentElement.appendChild(div);
  }
  const figure = JSON.parse(data.figure);
  const entry = [...filled].find((e) => e.div === div);
  if (data.fill) {
    data.fill.own = (figure.layout && figure.layout.height) || 450;  // plotly.js's default height
    if (entry) entry.fill = data.fill; else filled.add({div, fill: data.fill});
    figure.layout = {...(figure.layout || {}), height: fillHeight(div, data.fill)};
    watchLayout();
  } else if (entry) {
    filled.delete(entry);
  }
  // A secondary figure (the sidebar's curve) waits until the main thread is idle: the heatmap is drawn first.
  const turn = (Plotly) => data.secondary ? new Promise((resolve) => requestIdleCallback(() => resolve(Plotly), {timeout: 2000}))
                                          : Plotly;
  loadPlotly(data.bundle)
    .then(turn)
    // frames: a figure's own animation (the training film's slider and play button); [] clears an earlier figure's
    .then((Plotly) => Plotly.react(div, {data: figure.data || [], layout: themed(figure.layout || {}),
                                         frames: figure.frames || [],
                                         config: {displaylogo: false, responsive: true, ...(data.config || {})}}))
    .then(() => {
      if (data.clickable && !div.__headlightClicks) {  // a click on a point goes back to Python (ui/figure.py)
        div.__headlightClicks = true;
        div.on("plotly_click", (event) => {
          const point = event.points && event.points[0];
          if (point) setTriggerValue("click", {x: point.x, y: point.y});
        });
      }
      if (data.fill) requestAnimationFrame(refit);  // the page above may have moved while plotly.js drew
    })
    .catch((error) => { div.textContent = error.message; });
}
