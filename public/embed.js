// For the host page: makes every <iframe data-audit-timeline> as tall as the
// timeline inside it, and can hand the frame its viewer token in a POST, so
// the token is in no URL at all. Include once:
//   <iframe data-audit-timeline src="https://audit.example.com/embed?token=…"
//           title="Audit log" style="width:100%;border:0"></iframe>
// or, keeping the token out of every address:
//   <iframe data-audit-timeline data-token="vt1.…"
//           data-src="https://audit.example.com/embed?theme=dark"
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
  // The server answers the post with a cookie and a redirect to the embed
  // without the token (see server/src/embed.rs).
  let n = 0;
  for (const frame of document.querySelectorAll('iframe[data-audit-timeline][data-token]')) {
    const action = new URL(frame.dataset.src || '/embed', origin);
    if (action.origin !== origin || action.pathname !== '/embed') continue;
    let target = frame;
    if (!frame.name) {
      // A frame takes its name when it is inserted, not when it is renamed
      // later: put in a named copy.
      target = frame.cloneNode(false);
      target.name = `audit-timeline-${++n}`;
      frame.replaceWith(target);
    }
    const form = document.createElement('form');
    form.method = 'post';
    form.action = action.href;
    form.target = target.name;
    form.hidden = true;
    const token = document.createElement('input');
    token.type = 'hidden';
    token.name = 'token';
    token.value = frame.dataset.token;
    form.append(token);
    document.body.append(form);
    form.submit();
    // Removed once the navigation has started: removing it at once would
    // cancel the submission.
    setTimeout(() => form.remove(), 0);
  }
})();
