// Optional improvements: every page works without this script.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  // Copy buttons: shown only when the clipboard API is available.
  for (const button of document.querySelectorAll('[data-copy]')) {
    if (!navigator.clipboard) {
      continue;
    }
    button.hidden = false;
    button.addEventListener('click', async () => {
      const source = document.getElementById(button.getAttribute('data-copy'));
      if (!source) {
        return;
      }
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Copy failed: select the text';
      }
    });
  }
});
