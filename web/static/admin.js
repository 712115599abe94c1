// Admin pages: turns a chosen logo file into the data: URL that the branding form sends.
// Without this script the admin can paste a data: URL into the same field.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  for (const input of document.querySelectorAll('input[type=file][data-logo-target]')) {
    const target = document.getElementById(input.getAttribute('data-logo-target'));
    if (!target) {
      continue;
    }
    input.addEventListener('change', () => {
      const file = input.files && input.files[0];
      if (!file) {
        target.value = '';
        return;
      }
      const reader = new FileReader();
      reader.addEventListener('load', () => {
        target.value = String(reader.result);
      });
      reader.readAsDataURL(file);
    });
  }
});
