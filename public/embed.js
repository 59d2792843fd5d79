// For the host page: makes every <iframe data-audit-timeline> as tall as the
// timeline inside it. Include once:
//   <iframe data-audit-timeline src="https://audit.example.com/embed?token=…"
//           title="Audit log" style="width:100%;border:0"></iframe>
//   <script src="https://audit.example.com/embed.js" defer></script>
// Only messages from the frame's own window and the timeline's origin count.
(() => {
  const origin = new URL(document.currentScript?.src ?? location.href).origin;
  window.addEventListener('message', (event) => {
    const data = event.data;
    if (event.origin !== origin || !data || data.type !== 'audit-timeline:height') return;
    const height = Number(data.height);
    if (!Number.isFinite(height) || height < 0) return;
    for (const frame of document.querySelectorAll('iframe[data-audit-timeline]')) {
      if (frame.contentWindow === event.source) frame.style.height = `${Math.min(height, 100000)}px`;
    }
  });
})();
