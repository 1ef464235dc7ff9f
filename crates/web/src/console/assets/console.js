// Progressive enhancement only: every page works without this file.
// Adds a "Copy" button beside each DNS record (elements with data-copy).
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('[data-copy]').forEach(function (el) {
    if (!navigator.clipboard) { return; }
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'plain';
    b.textContent = 'Copy';
    b.setAttribute('aria-label', 'Copy this record');
    b.addEventListener('click', function () {
      navigator.clipboard.writeText(el.textContent).then(function () {
        b.textContent = 'Copied';
        setTimeout(function () { b.textContent = 'Copy'; }, 2000);
      });
    });
    el.insertAdjacentElement('afterend', b);
  });
});
