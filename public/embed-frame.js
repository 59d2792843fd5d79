// Runs inside the embedded timeline (/embed). Tells the page around the
// frame how tall the timeline is, whenever that changes, so the frame can
// follow its content instead of scrolling inside it. The host page listens
// with /embed.js.
(() => {
  if (window.parent === window) return;
  let last = 0;
  const report = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    // The host's origin is unknown here; the message says only a height.
    window.parent.postMessage({ type: 'audit-timeline:height', height }, '*');
  };
  new ResizeObserver(report).observe(document.documentElement);
  report();
})();
